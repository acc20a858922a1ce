using ILGPU;
using Minimind.Kernels.Ilgpu.Mma;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    // An attention operand as autocast feeds it (identity at fp32).
    private static float Rd(float x, int rounding) => DeviceRounding.Round(x, rounding);

    /// <summary>
    /// Flash-style causal GQA attention forward. A group owns Rows consecutive queries of one (b, h); every
    /// thread owns one query row. Key/value rows stream through shared memory in blocks of Rows; each thread keeps
    /// a running max m and normaliser l (online softmax) and rescales its output row once per block.
    /// lse[b,h,t] = m + log l is saved for the backward. No T×T matrix exists anywhere. At bf16/fp16 q, k and v are
    /// read rounded (K/V as they are staged); scores, softmax and accumulation stay float32, as the CPU backend does.
    /// </summary>
    [Kernel(typeof(AttnTile32), typeof(AttnTile4))]
    public static void AttentionForward<TTile>(ArrayView<float> o, ArrayView<float> lse, ArrayView<float> q, ArrayView<float> k,
        ArrayView<float> v, AttnArgs s) where TTile : struct, IAttnTile
    {
        int R = default(TTile).Rows;
        var Ks = SharedMemory.Allocate<float>(default(TTile).KvSize);
        var Vs = SharedMemory.Allocate<float>(default(TTile).KvSize);
        var Ps = SharedMemory.Allocate<float>(default(TTile).PSize);
        int tid = Group.IdxX, hd = s.Hd, rep = s.H / s.Hkv;
        int qBlocks = (s.T + R - 1) / R, total = s.B * s.H * qBlocks;
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int qb = blk % qBlocks, bh = blk / qBlocks, h = bh % s.H, b = bh / s.H, kvh = h / rep;
            int t = qb * R + tid;
            bool active = t < s.T;
            int qi = ((b * s.T + t) * s.H + h) * hd;
            float m = float.NegativeInfinity, l = 0f;
            if (active) for (int d = 0; d < hd; d++) o[qi + d] = 0f;
            int kEnd = Min(s.T, qb * R + R);
            for (int k0 = 0; k0 < kEnd; k0 += R)
            {
                int j = k0 + tid;
                if (j < s.T)
                {
                    int ki = ((b * s.T + j) * s.Hkv + kvh) * hd;
                    for (int d = 0; d < hd; d++) { Ks[tid * hd + d] = Rd(k[ki + d], s.Precision); Vs[tid * hd + d] = Rd(v[ki + d], s.Precision); }
                }
                Group.Barrier();
                int jn = active ? Min(R, t - k0 + 1) : 0;
                if (jn > 0)
                {
                    float bm = m;
                    for (int jj = 0; jj < jn; jj++)
                    {
                        float dot = 0f;
                        for (int d = 0; d < hd; d++) dot += Rd(q[qi + d], s.Precision) * Ks[jj * hd + d];
                        dot *= s.Scale;
                        Ps[tid * R + jj] = dot;
                        bm = Max(bm, dot);
                    }
                    float corr = MathF.Exp(m - bm);
                    l *= corr;
                    for (int jj = 0; jj < jn; jj++)
                    {
                        float p = MathF.Exp(Ps[tid * R + jj] - bm);
                        Ps[tid * R + jj] = p;
                        l += p;
                    }
                    for (int d = 0; d < hd; d++)
                    {
                        float acc = o[qi + d] * corr;
                        for (int jj = 0; jj < jn; jj++) acc += Ps[tid * R + jj] * Vs[jj * hd + d];
                        o[qi + d] = acc;
                    }
                    m = bm;
                }
                Group.Barrier();
            }
            if (active)
            {
                float inv = 1f / l;
                for (int d = 0; d < hd; d++) o[qi + d] *= inv;
                lse[(b * s.H + h) * s.T + t] = m + MathF.Log(l);
            }
        }
    }

    /// <summary>D[b,h,t] = Σ_d dO·O over the row (the softmax-backward correction term; dO rounded, O float32 as saved).</summary>
    [Kernel]
    public static void AttentionRowDot(ArrayView<float> dDot, ArrayView<float> dO, ArrayView<float> o, AttnArgs s)
    {
        int n = s.B * s.T * s.H;
        for (int r = Gid; r < n; r += GStride)
        {
            int h = r % s.H, bt = r / s.H, t = bt % s.T, b = bt / s.T;
            float acc = 0f;
            for (int d = 0; d < s.Hd; d++) acc += Rd(dO[r * s.Hd + d], s.Precision) * o[r * s.Hd + d];
            dDot[(b * s.H + h) * s.T + t] = acc;
        }
    }

    /// <summary>
    /// dq (+)= Σ_j ds_j·k_j (overwritten when s.Accumulate is 0: the first key block starts from 0), flash-style like the forward: a group owns Rows queries of one (b, h), K/V blocks stream
    /// through shared memory, probabilities are recomputed from the saved lse (p = exp(q·k·scale − lse)),
    /// ds = p·(dO·v − D)·scale, and each thread adds its block's terms to its own dq row in ascending key order.
    /// q, k, v and dO are read rounded to s.Precision, as in the forward.
    /// </summary>
    [Kernel(typeof(AttnTile32), typeof(AttnTile4))]
    public static void AttentionBackwardQuery<TTile>(ArrayView<float> dq, ArrayView<float> dO, ArrayView<float> q, ArrayView<float> k,
        ArrayView<float> v, ArrayView<float> lse, ArrayView<float> dDot, AttnArgs s) where TTile : struct, IAttnTile
    {
        int R = default(TTile).Rows;
        var Ks = SharedMemory.Allocate<float>(default(TTile).KvSize);
        var Vs = SharedMemory.Allocate<float>(default(TTile).KvSize);
        var Ps = SharedMemory.Allocate<float>(default(TTile).PSize);
        int tid = Group.IdxX, hd = s.Hd, rep = s.H / s.Hkv;
        int qBlocks = (s.T + R - 1) / R, total = s.B * s.H * qBlocks;
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int qb = blk % qBlocks, bh = blk / qBlocks, h = bh % s.H, b = bh / s.H, kvh = h / rep;
            int t = qb * R + tid;
            bool active = t < s.T;
            int qi = ((b * s.T + t) * s.H + h) * hd, li = (b * s.H + h) * s.T + t;
            float rowLse = active ? lse[li] : 0f, rowD = active ? dDot[li] : 0f;
            int kEnd = Min(s.T, qb * R + R);
            for (int k0 = 0; k0 < kEnd; k0 += R)
            {
                int j = k0 + tid;
                if (j < s.T)
                {
                    int ki = ((b * s.T + j) * s.Hkv + kvh) * hd;
                    for (int d = 0; d < hd; d++) { Ks[tid * hd + d] = Rd(k[ki + d], s.Precision); Vs[tid * hd + d] = Rd(v[ki + d], s.Precision); }
                }
                Group.Barrier();
                int jn = active ? Min(R, t - k0 + 1) : 0;
                for (int jj = 0; jj < jn; jj++)
                {
                    float sc = 0f, dp = 0f;
                    for (int d = 0; d < hd; d++) { sc += Rd(q[qi + d], s.Precision) * Ks[jj * hd + d]; dp += Rd(dO[qi + d], s.Precision) * Vs[jj * hd + d]; }
                    float p = MathF.Exp(sc * s.Scale - rowLse);
                    Ps[tid * R + jj] = p * (dp - rowD) * s.Scale;
                }
                if (jn > 0)
                    for (int d = 0; d < hd; d++)
                    {
                        float acc = k0 == 0 && s.Accumulate == 0 ? 0f : dq[qi + d];
                        for (int jj = 0; jj < jn; jj++) acc += Ps[tid * R + jj] * Ks[jj * hd + d];
                        dq[qi + d] = acc;
                    }
                Group.Barrier();
            }
        }
    }

    /// <summary>
    /// dk, dv (+)= gradients (overwritten when s.Accumulate is 0), flash-style: a group owns Rows keys of one (b, kv head); for each query head of the group
    /// in ascending order, query/dO blocks (with their lse and D) stream through shared memory and each thread adds
    /// the terms of queries t ≥ j in ascending t to its own dk/dv rows — a fixed order, no atomics. q, k, v and dO are
    /// read rounded to s.Precision (Q/dO as they are staged).
    /// </summary>
    [Kernel(typeof(AttnTile32), typeof(AttnTile4))]
    public static void AttentionBackwardKeyValue<TTile>(ArrayView<float> dk, ArrayView<float> dv, ArrayView<float> dO, ArrayView<float> q,
        ArrayView<float> k, ArrayView<float> v, ArrayView<float> lse, ArrayView<float> dDot, AttnArgs s) where TTile : struct, IAttnTile
    {
        int R = default(TTile).Rows;
        var Qs = SharedMemory.Allocate<float>(default(TTile).KvSize);
        var Os = SharedMemory.Allocate<float>(default(TTile).KvSize);
        var Ps = SharedMemory.Allocate<float>(default(TTile).PSize);
        var Ds = SharedMemory.Allocate<float>(default(TTile).PSize);
        var Ls = SharedMemory.Allocate<float>(default(TTile).Rows);
        var Dd = SharedMemory.Allocate<float>(default(TTile).Rows);
        int tid = Group.IdxX, hd = s.Hd, rep = s.H / s.Hkv;
        int kBlocks = (s.T + R - 1) / R, total = s.B * s.Hkv * kBlocks;
        for (int blk = Grid.IdxX; blk < total; blk += Grid.DimX)
        {
            int kb = blk % kBlocks, bk = blk / kBlocks, kvh = bk % s.Hkv, b = bk / s.Hkv;
            int j = kb * R + tid;
            bool active = j < s.T;
            int ki = ((b * s.T + j) * s.Hkv + kvh) * hd;
            for (int hh = 0; hh < rep; hh++)
            {
                int h = kvh * rep + hh;
                for (int t0 = kb * R; t0 < s.T; t0 += R)
                {
                    int t = t0 + tid;
                    if (t < s.T)
                    {
                        int qi = ((b * s.T + t) * s.H + h) * hd, li = (b * s.H + h) * s.T + t;
                        for (int d = 0; d < hd; d++) { Qs[tid * hd + d] = Rd(q[qi + d], s.Precision); Os[tid * hd + d] = Rd(dO[qi + d], s.Precision); }
                        Ls[tid] = lse[li];
                        Dd[tid] = dDot[li];
                    }
                    Group.Barrier();
                    int tn = Min(R, s.T - t0), tStart = active ? (j - t0 > 0 ? j - t0 : 0) : tn;
                    for (int tt = tStart; tt < tn; tt++)
                    {
                        float sc = 0f, dp = 0f;
                        for (int d = 0; d < hd; d++) { sc += Qs[tt * hd + d] * Rd(k[ki + d], s.Precision); dp += Os[tt * hd + d] * Rd(v[ki + d], s.Precision); }
                        float p = MathF.Exp(sc * s.Scale - Ls[tt]);
                        Ps[tid * R + tt] = p;
                        Ds[tid * R + tt] = p * (dp - Dd[tt]) * s.Scale;
                    }
                    bool fresh = s.Accumulate == 0 && hh == 0 && t0 == kb * R;   // this thread's first write of its rows
                    if (tStart < tn)
                        for (int d = 0; d < hd; d++)
                        {
                            float accV = fresh ? 0f : dv[ki + d], accK = fresh ? 0f : dk[ki + d];
                            for (int tt = tStart; tt < tn; tt++)
                            {
                                accV += Ps[tid * R + tt] * Os[tt * hd + d];
                                accK += Ds[tid * R + tt] * Qs[tt * hd + d];
                            }
                            dv[ki + d] = accV;
                            dk[ki + d] = accK;
                        }
                    Group.Barrier();
                }
            }
        }
    }

    /// <summary>Decode attention: one thread per (b, new token, head), online softmax over the cached keys
    /// 0..pastLen+i in ascending order, each key read through the page table (a contiguous cache is one page per sequence).
    /// Only q is rounded: the caches hold rows KvCacheAppend rounded.</summary>
    [Kernel]
    public static void AttentionDecode(ArrayView<float> o, ArrayView<float> q, ArrayView<float> kCache, ArrayView<float> vCache,
        ArrayView<int> table, ArrayView<int> pastLens, DecodeArgs s)
    {
        int n = s.B * s.NewTokens * s.H, hd = s.Hd, rep = s.H / s.Hkv;
        for (int r = Gid; r < n; r += GStride)
        {
            int h = r % s.H, bi = r / s.H, i = bi % s.NewTokens, b = bi / s.NewTokens, kvh = h / rep;
            int qi = r * hd, keys = (s.Paged != 0 ? pastLens[b] : s.PastLen) + i + 1;
            float m = float.NegativeInfinity, l = 0f;
            for (int d = 0; d < hd; d++) o[qi + d] = 0f;
            for (int j = 0; j < keys; j++)
            {
                int ki = (CacheRow(table, s, b, j) * s.Hkv + kvh) * hd;
                float sc = 0f;
                for (int d = 0; d < hd; d++) sc += Rd(q[qi + d], s.Precision) * kCache[ki + d];
                sc *= s.Scale;
                float mNew = Max(m, sc);
                float corr = MathF.Exp(m - mNew), p = MathF.Exp(sc - mNew);
                l = l * corr + p;
                for (int d = 0; d < hd; d++) o[qi + d] = o[qi + d] * corr + p * vCache[ki + d];
                m = mNew;
            }
            float inv = 1f / l;
            for (int d = 0; d < hd; d++) o[qi + d] *= inv;
        }
    }

    /// <summary>Copies k/v [B,newTokens,Hkv,hd] into cache rows pastLen.. of each sequence (through the page table), rounded
    /// to s.Precision.</summary>
    [Kernel]
    public static void KvCacheAppend(ArrayView<float> kCache, ArrayView<float> vCache, ArrayView<float> k, ArrayView<float> v,
        ArrayView<int> table, ArrayView<int> pastLens, DecodeArgs s)
    {
        int row = s.Hkv * s.Hd, n = s.B * s.NewTokens * row;
        for (int e = Gid; e < n; e += GStride)
        {
            int r = e / row, c = e - r * row, i = r % s.NewTokens, b = r / s.NewTokens;
            int dst = CacheRow(table, s, b, (s.Paged != 0 ? pastLens[b] : s.PastLen) + i) * row + c;
            kCache[dst] = Rd(k[e], s.Precision);
            vCache[dst] = Rd(v[e], s.Precision);
        }
    }

    // The pool row holding sequence b's cache row j: row j % PageSize of its page j / PageSize.
    private static int CacheRow(ArrayView<int> table, DecodeArgs s, int b, int j)
    {
        int page = s.Paged != 0 ? table[b * s.PagesPerSeq + j / s.PageSize] : b;
        return page * s.PageSize + j % s.PageSize;
    }
}

using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Keys per online-softmax block: scores of one block live in a small stack buffer, never a T×T matrix.
    private const int KeyBlock = 64;
    // Rows per parallel work item (rows are independent, so grouping never changes results).
    private const int RowBlock = 16;

    /// <summary>One query row against keys 0..nKeys-1 (rows k + j·stride, v + j·stride): online softmax over key
    /// blocks; writes the output row and returns the log-sum-exp of the scaled scores. acc holds hd floats,
    /// s holds <see cref="KeyBlock"/>.</summary>
    private static unsafe float AttendRow(float* q, float* k, float* v, int stride, int nKeys, int hd, float scale,
        float* output, float* acc, float* s)
    {
        new Span<float>(acc, hd).Clear();
        float m = float.NegativeInfinity, l = 0f;
        for (int j0 = 0; j0 < nKeys; j0 += KeyBlock)
        {
            int nb = Math.Min(KeyBlock, nKeys - j0);
            var sb = new Span<float>(s, nb);
            AttentionMath.Dots(q, k + (long)j0 * stride, stride, nb, hd, scale, s);
            float newM = Math.Max(m, TensorPrimitives.Max(sb));
            float corr = MathF.Exp(m - newM);
            l *= corr;
            var accSpan = new Span<float>(acc, hd);
            TensorPrimitives.Multiply(accSpan, corr, accSpan);
            TensorPrimitives.Subtract(sb, newM, sb);
            TensorPrimitives.Exp(sb, sb);
            for (int j = 0; j < nb; j++) l += s[j];
            AttentionMath.AddWeightedRows(acc, v + (long)j0 * stride, stride, nb, s, hd);
            m = newM;
        }
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc, hd), 1f / l, new Span<float>(output, hd));
        return m + MathF.Log(l);
    }

    /// <inheritdoc/>
    public unsafe void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape shape)
    {
        OpContract.Attention(output, lse, q, k, v, shape, Limits);
        int batch = shape.Batch, seqLen = shape.SeqLen, heads = shape.Heads, kvHeads = shape.KvHeads, headDim = shape.HeadDim;
        var (oa, oo) = Arr(output); var (la, lo) = Arr(lse); var (qa, qo) = Arr(q); var (ka, ko) = Arr(k); var (va, vo) = Arr(v);
        int rep = heads / kvHeads, hd = headDim, T = seqLen, H = heads, stride = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(hd);
        int blocks = (T + RowBlock - 1) / RowBlock;
        _work.ForEach(batch * H * blocks, item =>
        {
            int bh = item / blocks, t0 = item % blocks * RowBlock;
            int b = bh / H, h = bh % H;
            int kv = (b * T * kvHeads + h / rep) * hd;
            float* acc = stackalloc float[hd];
            float* sc = stackalloc float[KeyBlock];
            fixed (float* po = oa, pl = la, pq = qa, pk = ka, pv = va)
                for (int t = t0; t < Math.Min(T, t0 + RowBlock); t++)
                {
                    int row = ((b * T + t) * H + h) * hd;
                    pl[lo + bh * T + t] = AttendRow(pq + qo + row, pk + ko + kv, pv + vo + kv, stride, t + 1, hd, scale, po + oo + row, acc, sc);
                }
        });
    }

    /// <inheritdoc/>
    public unsafe void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        AttnShape shape, WriteMode mode)
    {
        OpContract.AttentionBackward(dq, dk, dv, dOutput, q, k, v, output, lse, shape, mode, Limits);
        int batch = shape.Batch, seqLen = shape.SeqLen, heads = shape.Heads, kvHeads = shape.KvHeads, headDim = shape.HeadDim;
        bool overwrite = mode == WriteMode.Overwrite;
        var (dqa, dqo) = Arr(dq); var (dka, dko) = Arr(dk); var (dva, dvo) = Arr(dv); var (ga, go) = Arr(dOutput);
        var (qa, qo) = Arr(q); var (ka, ko) = Arr(k); var (va, vo) = Arr(v); var (oa, oo) = Arr(output); var (la, lo) = Arr(lse);
        int rep = heads / kvHeads, hd = headDim, T = seqLen, H = heads, Hkv = kvHeads, stride = Hkv * hd, qStride = H * hd;
        float scale = 1f / MathF.Sqrt(hd);
        int blocks = (T + RowBlock - 1) / RowBlock;

        // D[b,h,t] = dO·O, the softmax-backward row term.
        var dRow = new float[batch * H * T];
        _work.For(batch * T * H, 256, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int h = (int)(r % H), bt = (int)(r / H), b = bt / T, t = bt % T;
                dRow[(b * H + h) * T + t] = TensorPrimitives.Dot(ga.AsSpan(go + (int)r * hd, hd), oa.AsSpan(oo + (int)r * hd, hd));
            }
        });

        // Pass 1, dq per query row: dq_t += scale·Σ_j p_tj (dO_t·v_j − D_t) k_j, keys ascending.
        _work.ForEach(batch * H * blocks, item =>
        {
            int bh = item / blocks, t0 = item % blocks * RowBlock;
            int b = bh / H, h = bh % H;
            int kv = (b * T * Hkv + h / rep) * hd;
            float* acc = stackalloc float[hd];
            float* p = stackalloc float[KeyBlock];
            float* ds = stackalloc float[KeyBlock];
            fixed (float* pq = qa, pk = ka, pv = va, pg = ga, pdq = dqa, pl = la, pd = dRow)
                for (int t = t0; t < Math.Min(T, t0 + RowBlock); t++)
                {
                    int row = ((b * T + t) * H + h) * hd;
                    float lseT = pl[lo + bh * T + t], dT = pd[bh * T + t];
                    new Span<float>(acc, hd).Clear();
                    for (int j0 = 0; j0 <= t; j0 += KeyBlock)
                    {
                        int nb = Math.Min(KeyBlock, t + 1 - j0);
                        float* kr = pk + ko + kv + (long)j0 * stride;
                        AttentionMath.Dots(pq + qo + row, kr, stride, nb, hd, scale, p);
                        AttentionMath.Dots(pg + go + row, pv + vo + kv + (long)j0 * stride, stride, nb, hd, 1f, ds);
                        for (int j = 0; j < nb; j++)
                        {
                            float pj = MathF.Exp(p[j] - lseT);
                            ds[j] = pj * (ds[j] - dT);
                        }
                        AttentionMath.AddWeightedRows(acc, kr, stride, nb, ds, hd);
                    }
                    var dst = new Span<float>(pdq + dqo + row, hd);
                    if (overwrite) TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc, hd), scale, dst);
                    else TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(acc, hd), scale, dst, dst);
                }
        });

        // Pass 2, dk/dv per key row: query heads of the group in ascending order, then t ascending.
        _work.ForEach(batch * Hkv * blocks, item =>
        {
            int bg = item / blocks, j0 = item % blocks * RowBlock;
            int b = bg / Hkv, g = bg % Hkv;
            float* accK = stackalloc float[hd];
            float* accV = stackalloc float[hd];
            float* p = stackalloc float[KeyBlock];
            float* ds = stackalloc float[KeyBlock];
            fixed (float* pq = qa, pk = ka, pv = va, pg = ga, pdk = dka, pdv = dva, pl = la, pd = dRow)
                for (int j = j0; j < Math.Min(T, j0 + RowBlock); j++)
                {
                    int krow = ((b * T + j) * Hkv + g) * hd;
                    float* kr = pk + ko + krow; float* vr = pv + vo + krow;
                    new Span<float>(accK, hd).Clear(); new Span<float>(accV, hd).Clear();
                    for (int h = g * rep; h < (g + 1) * rep; h++)
                    {
                        int bh = b * H + h;
                        for (int t0 = j; t0 < T; t0 += KeyBlock)
                        {
                            int nb = Math.Min(KeyBlock, T - t0);
                            float* qRows = pq + qo + (long)((b * T + t0) * H + h) * hd;
                            float* gRows = pg + go + (long)((b * T + t0) * H + h) * hd;
                            AttentionMath.Dots(kr, qRows, qStride, nb, hd, scale, p);
                            AttentionMath.Dots(vr, gRows, qStride, nb, hd, 1f, ds);
                            for (int i = 0; i < nb; i++)
                            {
                                float pt = MathF.Exp(p[i] - pl[lo + bh * T + t0 + i]);
                                p[i] = pt;
                                ds[i] = pt * (ds[i] - pd[bh * T + t0 + i]);
                            }
                            AttentionMath.AddWeightedRows(accV, gRows, qStride, nb, p, hd);
                            AttentionMath.AddWeightedRows(accK, qRows, qStride, nb, ds, hd);
                        }
                    }
                    var dkr = new Span<float>(pdk + dko + krow, hd); var dvr = new Span<float>(pdv + dvo + krow, hd);
                    if (overwrite)
                    {
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>(accK, hd), scale, dkr);
                        new ReadOnlySpan<float>(accV, hd).CopyTo(dvr);
                    }
                    else
                    {
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(accK, hd), scale, dkr, dkr);
                        TensorPrimitives.Add(dvr, new ReadOnlySpan<float>(accV, hd), dvr);
                    }
                }
        });
    }

    /// <inheritdoc/>
    public unsafe void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape shape)
    {
        OpContract.AttentionDecode(output, q, kCache, vCache, shape, Limits);
        int batch = shape.Batch, newTokens = shape.NewTokens, pastLen = shape.PastLen, capacity = shape.Capacity;
        int heads = shape.Heads, kvHeads = shape.KvHeads, headDim = shape.HeadDim;
        var (oa, oo) = Arr(output); var (qa, qo) = Arr(q); var (ka, ko) = Arr(kCache); var (va, vo) = Arr(vCache);
        int rep = heads / kvHeads, hd = headDim, H = heads, stride = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(hd);
        _work.ForEach(batch * newTokens * H, item =>
        {
            int h = item % H, bi = item / H, b = bi / newTokens, i = bi % newTokens;
            int kv = (b * capacity * kvHeads + h / rep) * hd;
            int row = item * hd;
            float* acc = stackalloc float[hd];
            float* sc = stackalloc float[KeyBlock];
            fixed (float* po = oa, pq = qa, pk = ka, pv = va)
                AttendRow(pq + qo + row, pk + ko + kv, pv + vo + kv, stride, pastLen + i + 1, hd, scale, po + oo + row, acc, sc);
        });
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape shape)
    {
        OpContract.KvCacheAppend(kCache, vCache, k, v, shape, Limits);
        int batch = shape.Batch, newTokens = shape.NewTokens, pastLen = shape.PastLen, capacity = shape.Capacity;
        int rowLen = shape.KvHeads * shape.HeadDim;
        var kc = Span(kCache); var vc = Span(vCache); var ks = Span(k); var vs = Span(v);
        for (int b = 0; b < batch; b++)
        {
            int src = b * newTokens * rowLen, dst = (b * capacity + pastLen) * rowLen, len = newTokens * rowLen;
            ks.Slice(src, len).CopyTo(kc.Slice(dst, len));
            vs.Slice(src, len).CopyTo(vc.Slice(dst, len));
        }
    }
}

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Causal attention backward on blocks: K and V of every kv head are packed once, then one work item is one query head.
/// Its query blocks are walked in ascending order and, inside, its key blocks up to the diagonal: S = Q·Kᵀ and dP = dO·Vᵀ
/// are recomputed, P = exp(S − lse), dS = P∘(dP − D), then dQ += dS·K (kept per query block), dV += Pᵀ·dO and
/// dK += dSᵀ·Q (kept per head), all through the SGEMM micro-kernel. Per-head dK/dV are then summed over the heads of each
/// kv head in ascending head order, so nothing depends on the thread count.
/// </summary>
internal static unsafe class CpuAttentionBackward
{
    /// <summary>dq, dk, dv (+)= gradients of <see cref="CpuAttentionForward.Run"/> given dOutput, the output and lse:
    /// overwritten when <paramref name="overwrite"/>, else accumulated.</summary>
    public static void Run(WorkPartition work, CpuIsa isa, AttnShape shape, float[] dq, int dqo, float[] dk, int dko, float[] dv, int dvo,
        float[] dO, int go, float[] q, int qo, float[] k, int ko, float[] v, int vo, float[] o, int oo, float[] lse, int lo, bool overwrite)
    {
        switch (isa)
        {
            case CpuIsa.Avx512: Run<GemmKernelAvx512>(work, shape, dq, dqo, dk, dko, dv, dvo, dO, go, q, qo, k, ko, v, vo, o, oo, lse, lo, overwrite); break;
            case CpuIsa.Avx2: Run<GemmKernelAvx2>(work, shape, dq, dqo, dk, dko, dv, dvo, dO, go, q, qo, k, ko, v, vo, o, oo, lse, lo, overwrite); break;
            default: Run<GemmKernelPortable>(work, shape, dq, dqo, dk, dko, dv, dvo, dO, go, q, qo, k, ko, v, vo, o, oo, lse, lo, overwrite); break;
        }
    }

    private static void Run<TK>(WorkPartition work, AttnShape shape, float[] dq, int dqo, float[] dk, int dko, float[] dv, int dvo,
        float[] dO, int go, float[] q, int qo, float[] k, int ko, float[] v, int vo, float[] o, int oo, float[] lse, int lo, bool overwrite)
        where TK : struct, IGemmKernel
    {
        const int QB = AttentionBlocks.QBlock, KB = AttentionBlocks.KBlock;
        int MR = TK.MR, NR = TK.NR;
        var d = new AttentionBlocks(shape, NR);
        int hd = d.Hd, T = d.T, H = d.H;
        long rowsQ = (long)d.Batch * T * H;
        // D[b,h,t] = dO·O, the softmax-backward row term, then per-head dK/dV partials [B, H, T, hd].
        var dRow = PackPool.Rent(checked((int)rowsQ));
        var part = PackPool.Rent(checked((int)(2 * rowsQ * hd)));
        try
        {
            work.For(rowsQ, 256, (s, e) =>
            {
                for (long r = s; r < e; r++)
                {
                    int h = (int)(r % H), bt = (int)(r / H), b = bt / T, t = bt % T;
                    dRow[((long)b * H + h) * T + t] = LaneSum.Dot(TK.Isa, dO.AsSpan(go + (int)(r * hd), hd), o.AsSpan(oo + (int)(r * hd), hd));
                }
            });

            int kbN = AttentionBlocks.RoundUp(KB, NR), blocks = d.Blocks;
            long headLen = (long)T * hd, dvBase = rowsQ * hd;
            int qbPad = AttentionBlocks.RoundUp(QB, MR), kbPad = AttentionBlocks.RoundUp(KB, MR);
            // Per kv head and key block: K and V as Bᵀ panels (keys padded to NR, so a block starts on a panel), K as B
            // panels; packed once for the Rep query heads that read them (per query head before, Rep times).
            int ktLen = kbN * hd, kbLen = KB * d.HdPad;
            long kvBlock = 2 * ktLen + kbLen, kvHead = blocks * kvBlock;
            var kv = d.PackKeyBlocks(work, kvBlock, k, ko, v, vo, (slot, kRows, vRows, nk) =>
            {
                AttentionBlocks.PackRowsBt<TK>(slot, kRows, d.KStride, nk, hd);
                AttentionBlocks.PackRowsBt<TK>(slot + ktLen, vRows, d.KStride, nk, hd);
                AttentionBlocks.PackRowsB<TK>(slot + 2 * ktLen, kRows, d.KStride, nk, hd);
            });
            try
            {
                // Scratch per head: per query block Q, dO as A and as B panels; scores, dP, P and dS in the three panel
                // orders; the dQ accumulator; one register block.
                int qaLen = qbPad * hd, qbLen = QB * d.HdPad;
                int sLen = qbPad * KB, tLen = kbPad * QB, dqLen = qbPad * d.HdPad;
                int scratch = 2 * qaLen + 2 * qbLen + 3 * sLen + 2 * tLen + dqLen + MR * NR;
                work.ForEach(d.Batch * H, bh =>
                {
                    var buf = PackPool.Rent(scratch);
                    try
                    {
                        fixed (float* pb = buf, pdq = dq, pg = dO, pq = q, pkv = kv, pl = lse, pd = dRow, pp = part)
                        {
                            float* qa = pb, ga = qa + qaLen, qbm = ga + qaLen, gbm = qbm + qbLen;
                            float* s = gbm + qbLen, dp = s + sLen, dsA = dp + sLen, pT = dsA + sLen, dsT = pT + tLen, dqAcc = dsT + tLen, block = dqAcc + dqLen;
                            var sc = new Scratch { Qa = qa, Ga = ga, Qb = qbm, Gb = gbm, S = s, Dp = dp, DsA = dsA, PT = pT, DsT = dsT, DqAcc = dqAcc, Block = block };
                            int b = bh / H, h = bh % H;
                            Head<TK>(d, b, h, sc, overwrite, pdq + dqo, pg + go, pq + qo, pkv + ((long)b * d.Hkv + h / d.Rep) * kvHead, ktLen, kvBlock,
                                pl + lo + (long)bh * T, pd + (long)bh * T, pp + bh * headLen, pp + dvBase + bh * headLen);
                        }
                    }
                    finally { PackPool.Return(buf); }
                });
            }
            finally { PackPool.Return(kv); }

            // dk (+)= scale·Σ_r dK_r, dv (+)= Σ_r dV_r over the query heads r of each kv head, r ascending.
            int rep = d.Rep;
            work.For((long)d.Batch * T * d.Hkv, 64, (s, e) =>
            {
                float* acc = stackalloc float[2 * hd];
                fixed (float* pdk = dk, pdv = dv, pp = part)
                    for (long r = s; r < e; r++)
                    {
                        int g = (int)(r % d.Hkv), bt = (int)(r / d.Hkv), b = bt / T, t = bt % T;
                        var aK = new Span<float>(acc, hd); var aV = new Span<float>(acc + hd, hd);
                        for (int i = 0; i < rep; i++)
                        {
                            long at = (((long)b * H + g * rep + i) * T + t) * hd;
                            var pK = new ReadOnlySpan<float>(pp + at, hd); var pV = new ReadOnlySpan<float>(pp + dvBase + at, hd);
                            if (i == 0) { pK.CopyTo(aK); pV.CopyTo(aV); }
                            else { TensorPrimitives.Add(aK, pK, aK); TensorPrimitives.Add(aV, pV, aV); }
                        }
                        var dkr = new Span<float>(pdk + dko + d.KRow(b, t, g), hd); var dvr = new Span<float>(pdv + dvo + d.KRow(b, t, g), hd);
                        if (overwrite) { TensorPrimitives.Multiply(aK, d.Scale, dkr); aV.CopyTo(dvr); }
                        else { TensorPrimitives.MultiplyAdd(aK, d.Scale, dkr, dkr); TensorPrimitives.Add(dvr, aV, dvr); }
                    }
            });
        }
        finally
        {
            PackPool.Return(part);
            PackPool.Return(dRow);
        }
    }

    // Pointers into one item's scratch array (see Run for the sizes).
    private struct Scratch
    {
        public float* Qa, Ga, Qb, Gb, S, Dp, DsA, PT, DsT, DqAcc, Block;
    }

    // One query head: kv holds its kv head's packed key blocks (block j: K as Bᵀ panels at kv + j·kvBlock, V as Bᵀ panels
    // ktLen floats after them, K as B panels 2·ktLen after them); lse and D point at its T rows; dkH/dvH are its [T, hd]
    // partials (overwritten).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Head<TK>(AttentionBlocks d, int b, int h, Scratch w, bool overwrite, float* dq, float* dO, float* q, float* kv, int ktLen, long kvBlock,
        float* lse, float* dRow, float* dkH, float* dvH) where TK : struct, IGemmKernel
    {
        const int QB = AttentionBlocks.QBlock, KB = AttentionBlocks.KBlock;
        int MR = TK.MR;
        int hd = d.Hd, hdPad = d.HdPad, T = d.T;
        new Span<float>(dkH, T * hd).Clear();
        new Span<float>(dvH, T * hd).Clear();

        for (int t0 = 0; t0 < T; t0 += QB)
        {
            int nq = Math.Min(QB, T - t0), nqPad = AttentionBlocks.RoundUp(nq, MR);
            AttentionBlocks.PackRowsA<TK>(w.Qa, q + d.QRow(b, t0, h), d.QStride, nq, hd);
            AttentionBlocks.PackRowsA<TK>(w.Ga, dO + d.QRow(b, t0, h), d.QStride, nq, hd);
            AttentionBlocks.PackRowsB<TK>(w.Qb, q + d.QRow(b, t0, h), d.QStride, nq, hd);
            AttentionBlocks.PackRowsB<TK>(w.Gb, dO + d.QRow(b, t0, h), d.QStride, nq, hd);
            new Span<float>(w.DqAcc, nqPad * hdPad).Clear();

            for (int j0 = 0; j0 < t0 + nq; j0 += KB)
            {
                int nk = Math.Min(KB, t0 + nq - j0);
                float* kt = kv + (long)(j0 / KB) * kvBlock, vt = kt + ktLen, kb = vt + ktLen;
                AttentionBlocks.CausalProduct<TK>(w.Qa, kt, hd, nqPad, nk, t0, j0, w.S, KB, w.Block);
                AttentionBlocks.CausalProduct<TK>(w.Ga, vt, hd, nqPad, nk, t0, j0, w.Dp, KB, w.Block);
                for (int i = 0; i < nq; i++)
                {
                    int valid = Math.Min(nk, t0 + i - j0 + 1), live = Math.Max(valid, 0);
                    float* sr = w.S + (long)i * KB, dr = w.Dp + (long)i * KB;
                    // P and dS stay in the score and dP rows, masked keys zero, for the panel packs of the block below.
                    new Span<float>(sr + live, nk - live).Clear();
                    new Span<float>(dr + live, nk - live).Clear();
                    if (valid <= 0) continue;
                    AttentionRows.ProbGrad(sr, dr, valid, d.Scale, lse[t0 + i], dRow[t0 + i]);
                }
                // Pᵀ and dSᵀ as A panels, one copy of MR keys per query (key-by-key scalar stores before: the backward
                // is 1.04× faster at T 256, 1.12–1.15× at T 1024); the last panel's keys past nk are zero, as PackRowsA zeroes dS's pad rows.
                AttentionBlocks.PackColumnsA<TK>(w.PT, w.S, KB, nq, nk);
                AttentionBlocks.PackColumnsA<TK>(w.DsT, w.Dp, KB, nq, nk);
                AttentionBlocks.PackRowsA<TK>(w.DsA, w.Dp, KB, nq, nk);
                AttentionBlocks.Product<TK>(w.PT, w.Gb, nq, nk, hd, dvH + (long)j0 * hd, hd, false, w.Block);
                AttentionBlocks.Product<TK>(w.DsT, w.Qb, nq, nk, hd, dkH + (long)j0 * hd, hd, false, w.Block);
                AttentionBlocks.Product<TK>(w.DsA, kb, nk, nqPad, hd, w.DqAcc, hdPad, false, w.Block);
            }
            for (int i = 0; i < nq; i++)
            {
                var dst = new Span<float>(dq + d.QRow(b, t0 + i, h), hd);
                var acc = new ReadOnlySpan<float>(w.DqAcc + (long)i * hdPad, hd);
                if (overwrite) TensorPrimitives.Multiply(acc, d.Scale, dst);
                else TensorPrimitives.MultiplyAdd(acc, d.Scale, dst, dst);
            }
        }
    }
}

using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Causal attention forward on blocks (flash-attention style): one work item is a query block of every query head of
/// one kv head, so those heads share each packed K/V block. Per key block, S = Q·Kᵀ and O += P·V run through the
/// SGEMM micro-kernel of the CPU path; the online softmax rescales O between blocks; key blocks after the query block are skipped.
/// Work items are independent and each sums in a fixed order, so the bits never depend on the thread count.
/// </summary>
internal static unsafe class CpuAttentionForward
{
    /// <summary>output = softmax(scale·QKᵀ, causal)·V; lse [B, H, T] = log-sum-exp of the scaled scores per row.</summary>
    public static void Run(WorkPartition work, CpuIsa isa, AttnShape shape, float[] o, int oo, float[] lse, int lo,
        float[] q, int qo, float[] k, int ko, float[] v, int vo)
    {
        switch (isa)
        {
            case CpuIsa.Avx512: Run<GemmKernelAvx512>(work, shape, o, oo, lse, lo, q, qo, k, ko, v, vo); break;
            case CpuIsa.Avx2: Run<GemmKernelAvx2>(work, shape, o, oo, lse, lo, q, qo, k, ko, v, vo); break;
            default: Run<GemmKernelPortable>(work, shape, o, oo, lse, lo, q, qo, k, ko, v, vo); break;
        }
    }

    private static void Run<TK>(WorkPartition work, AttnShape shape, float[] o, int oo, float[] lse, int lo,
        float[] q, int qo, float[] k, int ko, float[] v, int vo) where TK : struct, IGemmKernel
    {
        const int QB = AttentionBlocks.QBlock, KB = AttentionBlocks.KBlock;
        int MR = TK.MR, NR = TK.NR;
        var d = new AttentionBlocks(shape, NR);
        int qbPad = AttentionBlocks.RoundUp(QB, MR), mMax = d.Rep * qbPad;
        // K (keys padded to NR) and V of every key block of every kv head, packed once for all the query blocks that read
        // them: packed per query block, each was packed up to T/QBlock times (once: the forward 1.06–1.11× at T 1024, same bits).
        int kLen = AttentionBlocks.RoundUp(KB, NR) * d.Hd, vLen = KB * d.HdPad, blocks = d.Blocks;
        long kvBlock = kLen + vLen;
        // Scratch per item: packed Q and P; scores; the O accumulator; running max and sum; one register block.
        int qLen = mMax * d.Hd, sLen = mMax * KB, oLen = mMax * d.HdPad;
        int scratch = qLen + 2 * sLen + oLen + 2 * mMax + MR * NR;
        var kv = d.PackKeyBlocks(work, kvBlock, k, ko, v, vo, (slot, kRows, vRows, nk) =>
        {
            AttentionBlocks.PackRowsBt<TK>(slot, kRows, d.KStride, nk, d.Hd);
            AttentionBlocks.PackRowsB<TK>(slot + kLen, vRows, d.KStride, nk, d.Hd);
        });
        try
        {
            work.ForEach(d.Batch * d.Hkv * blocks, item =>
            {
                var buf = PackPool.Rent(scratch);
                try
                {
                    fixed (float* pb = buf, po = o, pl = lse, pq = q, pkv = kv)
                    {
                        float* qP = pb, s = qP + qLen, pP = s + sLen, acc = pP + sLen;
                        float* m = acc + oLen, l = m + mMax, block = l + mMax;
                        Block<TK>(d, item / blocks / d.Hkv, item / blocks % d.Hkv, item % blocks * QB, po + oo, pl + lo, pq + qo,
                            pkv + (long)(item / blocks) * blocks * kvBlock, kLen, kvBlock, qP, s, pP, acc, m, l, block);
                    }
                }
                finally { PackPool.Return(buf); }
            });
        }
        finally { PackPool.Return(kv); }
    }

    // Query rows t0.. of the Rep heads of kv head g: head r's rows are scratch rows r·nqPad + i. kv holds kv head g's
    // packed key blocks: block j's K panels at kv + j·kvBlock, its V panels kLen floats after them.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TK>(AttentionBlocks d, int b, int g, int t0, float* o, float* lse, float* q, float* kv, int kLen, long kvBlock,
        float* qP, float* s, float* pP, float* acc, float* m, float* l, float* block) where TK : struct, IGemmKernel
    {
        const int KB = AttentionBlocks.KBlock;
        int MR = TK.MR;
        int hd = d.Hd, hdPad = d.HdPad, rep = d.Rep;
        int nq = Math.Min(AttentionBlocks.QBlock, d.T - t0), nqPad = AttentionBlocks.RoundUp(nq, MR), rows = rep * nqPad;
        for (int r = 0; r < rep; r++)
            AttentionBlocks.PackRowsA<TK>(qP + (long)r * nqPad * hd, q + d.QRow(b, t0, g * rep + r), d.QStride, nq, hd);
        new Span<float>(acc, rows * hdPad).Clear();
        new Span<float>(m, rows).Fill(float.NegativeInfinity);
        new Span<float>(l, rows).Clear();

        for (int j0 = 0; j0 < t0 + nq; j0 += KB)
        {
            int nk = Math.Min(KB, t0 + nq - j0);
            float* kP = kv + (long)(j0 / KB) * kvBlock, vP = kP + kLen;
            for (int r = 0; r < rep; r++)
                AttentionBlocks.CausalProduct<TK>(qP + (long)r * nqPad * hd, kP, hd, nqPad, nk, t0, j0, s + (long)r * nqPad * KB, KB, block);

            // Online softmax per row, P left in the score row (masked keys zero), then packed as A panels in one pass
            // of 4×8 transposes: the strided scalar stores it replaced were as many as the block's FMAs were vectors.
            for (int R = 0; R < rows; R++)
            {
                int i = R % nqPad;
                float* sr = s + (long)R * KB;
                int valid = i < nq ? Math.Min(nk, t0 + i - j0 + 1) : 0;
                if (valid <= 0)
                {
                    new Span<float>(sr, nk).Clear();
                    continue;
                }
                float newM = AttentionRows.ScaleMax(sr, valid, d.Scale, m[R]);
                float corr = MathF.Exp(m[R] - newM);
                l[R] = l[R] * corr + AttentionRows.ExpSum(sr, valid, newM);
                m[R] = newM;
                if (corr != 1f) TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc + (long)R * hdPad, hd), corr, new Span<float>(acc + (long)R * hdPad, hd));
                new Span<float>(sr + valid, nk - valid).Clear();
            }
            AttentionBlocks.PackRowsA<TK>(pP, s, KB, rows, nk);
            AttentionBlocks.Product<TK>(pP, vP, nk, rows, hd, acc, hdPad, false, block);
        }

        for (int r = 0; r < rep; r++)
        {
            int h = g * rep + r;
            for (int i = 0; i < nq; i++)
            {
                int R = r * nqPad + i;
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc + (long)R * hdPad, hd), 1f / l[R], new Span<float>(o + d.QRow(b, t0 + i, h), hd));
                lse[((long)b * d.H + h) * d.T + t0 + i] = m[R] + MathF.Log(l[R]);
            }
        }
    }
}

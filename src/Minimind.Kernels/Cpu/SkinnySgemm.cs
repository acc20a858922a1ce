namespace Minimind.Kernels.Cpu;

/// <summary>
/// C[M,N] (+)= A[M,K]·B[K,N] for few rows (decode: one row per running sequence), with the same bits as
/// <see cref="Sgemm.Run"/>: the same K slices, the same packed panels, the same register kernel and the same merge
/// order, so every element's sum is formed identically. Only the loop order differs: each thread packs one
/// NR-column panel of B for one K slice into a stack buffer (L1) and runs every MR-row panel of A against it at
/// once, instead of packing all of B into a shared buffer first. B (the weights) is thus read from memory once and
/// never written back, which for a handful of rows is most of the cost.
/// Because the bits equal <see cref="Sgemm.Run"/>'s, a row's result does not depend on how many rows share the call:
/// a sequence decoded alone or beside others gets the same logits (batch invariance).
/// </summary>
internal static unsafe class SkinnySgemm
{
    /// <summary>Calls with at most this many rows take this path (measured in docs/benchmarks.md: at 64 rows it still
    /// beats the shared-pack loop on the model's shapes).</summary>
    public const int MaxRows = 64;

    /// <summary>C (+)= A·B with <see cref="Sgemm.Run"/>'s addressing and bits.</summary>
    public static void Run(WorkPartition work, int M, int N, int K,
        float[] a, int aOff, int aRs, int aCs,
        float[] b, int bOff, int bRs, int bCs,
        float[] c, int cOff, int ldc, bool accumulate)
    {
        const int MR = Sgemm.MR, NR = Sgemm.NR, KC = Sgemm.KC;
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            if (!accumulate) for (int i = 0; i < M; i++) c.AsSpan(cOff + i * ldc, N).Clear();
            return;
        }
        int mPad = (M + MR - 1) / MR * MR, mPanels = mPad / MR, nPanels = (N + NR - 1) / NR;
        // A is small: packed once for every K slice (slice p0's panels start at p0·mPad, panel i0 at i0·kc within it).
        var packA = PackPool.Rent(checked(mPad * K));
        try
        {
            fixed (float* pa = a, dst = packA)
                for (int p0 = 0; p0 < K; p0 += KC)
                {
                    int kc = Math.Min(KC, K - p0);
                    for (int ip = 0; ip < mPanels; ip++)
                    {
                        int i0 = ip * MR;
                        Sgemm.PackA(dst + (long)p0 * mPad + (long)i0 * kc, pa + aOff + (long)p0 * aCs + (long)i0 * aRs, aRs, aCs, Math.Min(MR, M - i0), kc);
                    }
                }
            work.For(nPanels, 4, (s, e) =>
            {
                float* panel = stackalloc float[KC * NR];
                float* block = stackalloc float[MR * NR];
                fixed (float* pb = b, pc = c, ap = packA)
                    for (long jp = s; jp < e; jp++)
                    {
                        int j0 = (int)jp * NR, nr = Math.Min(NR, N - j0);
                        for (int p0 = 0; p0 < K; p0 += KC)
                        {
                            int kc = Math.Min(KC, K - p0);
                            Sgemm.PackB(panel, pb + bOff + (long)p0 * bRs + (long)j0 * bCs, bRs, bCs, nr, kc);
                            bool overwrite = p0 == 0 && !accumulate;
                            for (int ip = 0; ip < mPanels; ip++)
                            {
                                int i0 = ip * MR;
                                Sgemm.Kernel6x16(kc, ap + (long)p0 * mPad + (long)i0 * kc, panel, block);
                                Sgemm.Merge(block, pc + cOff + (long)i0 * ldc + j0, ldc, Math.Min(MR, M - i0), nr, overwrite);
                            }
                        }
                    }
            });
        }
        finally
        {
            PackPool.Return(packA);
        }
    }
}

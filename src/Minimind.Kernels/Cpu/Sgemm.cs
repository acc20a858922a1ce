using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Packed, cache-blocked SGEMM: C[M,N] (+)= A[M,K]·B[K,N] with A and B addressed through row/column
/// strides, so one routine serves all three nn.Linear layouts. BLIS-style loops: K is walked in KC slices;
/// per slice A is packed into MR-row panels and B into NR-column panels (8×8 AVX transposes where B is
/// k-contiguous), then fixed MC×NC output tiles are handed to threads, and a 6×16 register-blocked FMA
/// kernel computes each MR×NR block (B micro-panel in L1, A block in L2). Every C element sums its K
/// products in ascending order within a slice and the slices in ascending order, so results never depend
/// on the thread count or scheduling. Hot methods are marked AggressiveOptimization: tier-0 code of the
/// packing routines was measured 3-4× slower and would otherwise run for the first calls of every process.
/// </summary>
internal static unsafe class Sgemm
{
    internal const int MR = 6, NR = 16;
    internal const int MC = 96, KC = 256, NC = 256;

    /// <summary>C (+)= A·B. Element (i,p) of A is a[aOff + i·aRs + p·aCs]; (p,j) of B is b[bOff + p·bRs + j·bCs].</summary>
    public static void Run(WorkPartition work, int M, int N, int K,
        float[] a, int aOff, int aRs, int aCs,
        float[] b, int bOff, int bRs, int bCs,
        float[] c, int cOff, int ldc, bool accumulate)
    {
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            if (!accumulate) for (int i = 0; i < M; i++) c.AsSpan(cOff + i * ldc, N).Clear();
            return;
        }
        // K is walked in KC slices. Per slice, A and B are packed once (in parallel, no tile re-packs what another
        // tile packed), then the MC×NC output tiles are computed in parallel. The packed A slice holds its MR-row
        // panels of kc columns back to back; the packed B slice its NR-column panels.
        int mPad = (M + MR - 1) / MR * MR, nPad = (N + NR - 1) / NR * NR;
        int mPanels = mPad / MR, nPanels = nPad / NR;
        // Smaller tiles when there are too few for the workers. Tiling never changes any element's summation order.
        int tm = MC, tn = NC;
        while ((long)((M + tm - 1) / tm) * ((N + tn - 1) / tn) < 3L * work.Threads && (tn > 64 || tm > 4 * MR))
        {
            if (tn > 64) tn /= 2; else tm /= 2;
        }
        int mt = (M + tm - 1) / tm, nt = (N + tn - 1) / tn;
        var pack = PackPool.Rent(checked((mPad + nPad) * KC));
        try
        {
            for (int p0 = 0; p0 < K; p0 += KC)
            {
                int kc = Math.Min(KC, K - p0);
                int slice = p0;
                work.For(mPanels + nPanels, 8, (s, e) =>
                {
                    fixed (float* pa = a, pb = b, buf = pack)
                        for (long item = s; item < e; item++)
                        {
                            if (item < mPanels)
                            {
                                int i0 = (int)item * MR;
                                PackA(buf + (long)i0 * kc, pa + aOff + (long)slice * aCs + (long)i0 * aRs, aRs, aCs, Math.Min(MR, M - i0), kc);
                            }
                            else
                            {
                                int j0 = (int)(item - mPanels) * NR;
                                PackB(buf + (long)mPad * kc + (long)j0 * kc, pb + bOff + (long)slice * bRs + (long)j0 * bCs, bRs, bCs, Math.Min(NR, N - j0), kc);
                            }
                        }
                });
                bool overwrite = p0 == 0 && !accumulate;
                work.ForEach(mt * nt, tile =>
                {
                    int i0 = tile / nt * tm, j0 = tile % nt * tn;
                    Tile(i0, Math.Min(tm, M - i0), j0, Math.Min(tn, N - j0), kc, mPad, pack, c, cOff, ldc, overwrite);
                });
            }
        }
        finally
        {
            PackPool.Return(pack);
        }
    }

    // One output tile for one K slice: B micro-panels (L1) in the outer loop, A micro-panels (L2) inside.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(int i0, int mc, int j0, int nc, int kc, int mPad, float[] pack, float[] c, int cOff, int ldc, bool overwrite)
    {
        float* block = stackalloc float[MR * NR];
        fixed (float* buf = pack, pc = c)
        {
            float* aSlice = buf, bSlice = buf + (long)mPad * kc;
            for (int jr = j0; jr < j0 + nc; jr += NR)
            {
                int nr = Math.Min(NR, j0 + nc - jr);
                for (int ir = i0; ir < i0 + mc; ir += MR)
                {
                    int mr = Math.Min(MR, i0 + mc - ir);
                    Kernel6x16(kc, aSlice + (long)ir * kc, bSlice + (long)jr * kc, block);
                    Merge(block, pc + cOff + (long)ir * ldc + jr, ldc, mr, nr, overwrite);
                }
            }
        }
    }

    // One panel of MR rows: panel[p·MR + i] = A(i, p); rows past mr are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackA(float* panel, float* s0, int rs, int cs, int mr, int kc)
    {
        if (cs == 1 && mr == MR)
        {
            // Six row streams read in step, the panel written contiguously.
            float* r0 = s0, r1 = s0 + rs, r2 = s0 + 2L * rs, r3 = s0 + 3L * rs, r4 = s0 + 4L * rs, r5 = s0 + 5L * rs;
            for (int p = 0; p < kc; p++)
            {
                float* d = panel + p * MR;
                d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p]; d[4] = r4[p]; d[5] = r5[p];
            }
        }
        else
        {
            for (int p = 0; p < kc; p++)
            {
                float* col = s0 + (long)p * cs;
                float* d = panel + p * MR;
                int i = 0;
                for (; i < mr; i++) d[i] = col[(long)i * rs];
                for (; i < MR; i++) d[i] = 0f;
            }
        }
    }

    // One panel of NR columns: panel[p·NR + j] = B(p, j); columns past nr are zero.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackB(float* panel, float* s0, int rs, int cs, int nr, int kc)
    {
        if (cs == 1)
        {
            for (int p = 0; p < kc; p++)
            {
                float* row = s0 + (long)p * rs;
                float* d = panel + p * NR;
                if (nr == NR)
                {
                    Vector256.Store(Vector256.Load(row), d);
                    Vector256.Store(Vector256.Load(row + 8), d + 8);
                }
                else
                {
                    int j = 0;
                    for (; j < nr; j++) d[j] = row[j];
                    for (; j < NR; j++) d[j] = 0f;
                }
            }
        }
        else
        {
            int p0 = 0;
            if (Avx.IsSupported && nr == NR)
                for (; p0 + 8 <= kc; p0 += 8)
                {
                    Transpose8x8(s0 + (long)p0 * rs, cs, panel + p0 * NR);
                    Transpose8x8(s0 + 8L * cs + (long)p0 * rs, cs, panel + p0 * NR + 8);
                }
            for (int j = 0; j < nr; j++)
            {
                float* col = s0 + (long)j * cs;
                for (int p = p0; p < kc; p++) panel[p * NR + j] = col[(long)p * rs];
            }
            for (int j = nr; j < NR; j++)
                for (int p = p0; p < kc; p++) panel[p * NR + j] = 0f;
        }
    }

    // Rows src + r·ld (r < 8), 8 contiguous floats each, written transposed: dst[p·NR + r] = src[r·ld + p].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose8x8(float* src, int ld, float* dst)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + ld);
        var r2 = Avx.LoadVector256(src + 2L * ld); var r3 = Avx.LoadVector256(src + 3L * ld);
        var r4 = Avx.LoadVector256(src + 4L * ld); var r5 = Avx.LoadVector256(src + 5L * ld);
        var r6 = Avx.LoadVector256(src + 6L * ld); var r7 = Avx.LoadVector256(src + 7L * ld);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + NR, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * NR, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * NR, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * NR, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * NR, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * NR, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * NR, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    // The MR×NR register block: 12 accumulators, per k two B loads, six broadcasts, twelve FMAs. The block is
    // written to t[MR·NR] (the caller merges it into C): a loop with one plain exit keeps the JIT from spilling.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    internal static void Kernel6x16(int kc, float* a, float* b, float* t)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Fmadd(x, b0, c00); c01 = Fmadd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fmadd(x, b0, c10); c11 = Fmadd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fmadd(x, b0, c20); c21 = Fmadd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fmadd(x, b0, c30); c31 = Fmadd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fmadd(x, b0, c40); c41 = Fmadd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fmadd(x, b0, c50); c51 = Fmadd(x, b1, c51);
            a += MR; b += NR;
        }
        Vector256.Store(c00, t); Vector256.Store(c01, t + 8); Vector256.Store(c10, t + 16); Vector256.Store(c11, t + 24);
        Vector256.Store(c20, t + 32); Vector256.Store(c21, t + 40); Vector256.Store(c30, t + 48); Vector256.Store(c31, t + 56);
        Vector256.Store(c40, t + 64); Vector256.Store(c41, t + 72); Vector256.Store(c50, t + 80); Vector256.Store(c51, t + 88);
    }

    // C[mr, nr] (+)= t: the register block merged into the output.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Merge(float* t, float* c, int ldc, int mr, int nr, bool overwrite)
    {
        if (nr == NR)
        {
            for (int i = 0; i < mr; i++)
            {
                float* row = c + (long)i * ldc;
                if (overwrite) { Vector256.Store(Vector256.Load(t + i * NR), row); Vector256.Store(Vector256.Load(t + i * NR + 8), row + 8); }
                else
                {
                    Vector256.Store(Vector256.Load(row) + Vector256.Load(t + i * NR), row);
                    Vector256.Store(Vector256.Load(row + 8) + Vector256.Load(t + i * NR + 8), row + 8);
                }
            }
            return;
        }
        for (int i = 0; i < mr; i++)
        {
            float* row = c + (long)i * ldc;
            for (int j = 0; j < nr; j++) row[j] = overwrite ? t[i * NR + j] : row[j] + t[i * NR + j];
        }
    }
}

using ILGPU;
using Minimind.Kernels.Ilgpu.Mma;

namespace Minimind.Kernels.Ilgpu;

public static partial class IlgpuKernels
{
    /// <summary>One thread per C element, inner loop in ascending p (the CPU-simulator path); operands rounded to s.Precision as read.</summary>
    [Kernel]
    public static void GemmSimple(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s)
    {
        int total = s.M * s.N;
        for (int e = Gid; e < total; e += GStride)
        {
            int i = e / s.N, j = e - i * s.N;
            int ai = i * s.Sai, bj = j * s.Sbj;
            float acc = 0f;
            for (int p = 0; p < s.K; p++) acc += DeviceRounding.Round(a[ai + p * s.Sap], s.Precision) * DeviceRounding.Round(b[p * s.Sbp + bj], s.Precision);
            c[e] = s.Accumulate != 0 ? c[e] + acc : acc;
        }
    }

    /// <summary>
    /// Shared-memory tiled GEMM: a group owns a BM×BN block of C, stages BK-deep slices of A and B in shared
    /// memory, and each thread accumulates a 4×4 register block (rows ty + r·BM/4, columns tx + c·BN/4, so
    /// neighbouring threads read neighbouring shared words). Operands are rounded to s.Precision while staged.
    /// Unrolled by hand: ILGPU does not unroll loops.
    /// </summary>
    [Kernel(typeof(GemmTile64), typeof(GemmTile8))]
    public static void GemmTiled<TTile>(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s)
        where TTile : struct, IGemmTile
    {
        int bm = default(TTile).BM, bn = default(TTile).BN, bk = default(TTile).BK;
        var As = SharedMemory.Allocate<float>(default(TTile).ASize);   // [bk][bm]
        var Bs = SharedMemory.Allocate<float>(default(TTile).BSize);   // [bk][bn]
        int tid = Group.IdxX, nThreads = Group.DimX;
        int rm = bm / 4, rn = bn / 4;
        int tx = tid % rn, ty = tid / rn;
        int tilesM = (s.M + bm - 1) / bm, tilesN = (s.N + bn - 1) / bn;
        bool aAlongP = s.Sap == 1, bAlongP = s.Sbp == 1;
        for (int tile = Grid.IdxX; tile < tilesM * tilesN; tile += Grid.DimX)
        {
            int i0 = (tile / tilesN) * bm, j0 = (tile % tilesN) * bn;
            float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
            float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
            for (int k0 = 0; k0 < s.K; k0 += bk)
            {
                // Load order follows the contiguous axis of each operand so global reads coalesce.
                for (int e = tid; e < bm * bk; e += nThreads)
                {
                    int r, kk;
                    if (aAlongP) { r = e / bk; kk = e - r * bk; } else { kk = e / bm; r = e - kk * bm; }
                    int gi = i0 + r, gk = k0 + kk;
                    As[kk * bm + r] = gi < s.M && gk < s.K ? DeviceRounding.Round(a[gi * s.Sai + gk * s.Sap], s.Precision) : 0f;
                }
                for (int e = tid; e < bn * bk; e += nThreads)
                {
                    int col, kk;
                    if (bAlongP) { col = e / bk; kk = e - col * bk; } else { kk = e / bn; col = e - kk * bn; }
                    int gj = j0 + col, gk = k0 + kk;
                    Bs[kk * bn + col] = gj < s.N && gk < s.K ? DeviceRounding.Round(b[gk * s.Sbp + gj * s.Sbj], s.Precision) : 0f;
                }
                Group.Barrier();
                for (int kk = 0; kk < bk; kk++)
                {
                    int ab = kk * bm + ty, bb = kk * bn + tx;
                    float a0 = As[ab], a1 = As[ab + rm], a2 = As[ab + 2 * rm], a3 = As[ab + 3 * rm];
                    float b0 = Bs[bb], b1 = Bs[bb + rn], b2 = Bs[bb + 2 * rn], b3 = Bs[bb + 3 * rn];
                    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
                }
                Group.Barrier();
            }
            int ri = i0 + ty, cj = j0 + tx;
            Store4(c, s, ri, cj, rn, c00, c01, c02, c03);
            Store4(c, s, ri + rm, cj, rn, c10, c11, c12, c13);
            Store4(c, s, ri + 2 * rm, cj, rn, c20, c21, c22, c23);
            Store4(c, s, ri + 3 * rm, cj, rn, c30, c31, c32, c33);
        }
    }

    private static void Store4(ArrayView<float> c, GemmArgs s, int i, int j, int step, float v0, float v1, float v2, float v3)
    {
        if (i >= s.M) return;
        int row = i * s.N;
        if (j < s.N) Store1(c, s, row + j, v0);
        if (j + step < s.N) Store1(c, s, row + j + step, v1);
        if (j + 2 * step < s.N) Store1(c, s, row + j + 2 * step, v2);
        if (j + 3 * step < s.N) Store1(c, s, row + j + 3 * step, v3);
    }

    private static void Store1(ArrayView<float> c, GemmArgs s, int e, float v) => c[e] = s.Accumulate != 0 ? c[e] + v : v;
}

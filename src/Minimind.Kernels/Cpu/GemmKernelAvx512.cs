using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The AVX-512 micro-kernel: a 12×32 register block, 24 zmm accumulators, per k two 16-float B loads and twelve A
/// broadcasts (folded into the FMAs' memory operands) for 24 FMAs. Measured on Zen 5 (1 thread, panels in L1):
/// 12×32 227–235 GFLOP/s, 14×32 226–232, 6×32 217–229, 12×16 208, 8×48 100–112 and 6×64 91–123 (the JIT spills
/// those two), the AVX2 6×16 115–117. On Zen 4, whose 512-bit FMAs occupy both 256-bit units, 12×32 and the AVX2 6×16
/// reach the same FMA roof (116 GFLOP/s). 12 rows keep the attention blocks (48 rows) whole.
/// </summary>
internal readonly unsafe struct GemmKernelAvx512 : IGemmKernel
{
    public static int MR => 12;
    public static int NR => 32;
    public static CpuIsa Isa => CpuIsa.Avx512;

    // The cross-platform FMA: with AVX-512 the JIT imports it as the same node as Avx512F.FusedMultiplyAdd (one vfmadd,
    // the broadcast folded into its memory operand); without, .NET runs it in software, lane by lane with the same
    // rounding, which is what lets a CPU without AVX-512 check this kernel's bits (CpuIsas.IsEmulated).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> F(float* a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(Vector512.Create(*a), b, c);

    // The scratch tile written as a C of NR columns: an overwrite adds −0 to each sum, which leaves every value as it is.
    public static void Block<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat => BlockInto<TP>(kc, a, b, t, NR, true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void BlockInto<TP>(int kc, float* a, byte* b, float* c, int ldc, bool overwrite) where TP : struct, IPanelFormat
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load512(b, 0); var b1 = TP.Load512(b, 1);
            c00 = F(a, b0, c00); c01 = F(a, b1, c01); c10 = F(a + 1, b0, c10); c11 = F(a + 1, b1, c11);
            c20 = F(a + 2, b0, c20); c21 = F(a + 2, b1, c21); c30 = F(a + 3, b0, c30); c31 = F(a + 3, b1, c31);
            c40 = F(a + 4, b0, c40); c41 = F(a + 4, b1, c41); c50 = F(a + 5, b0, c50); c51 = F(a + 5, b1, c51);
            c60 = F(a + 6, b0, c60); c61 = F(a + 6, b1, c61); c70 = F(a + 7, b0, c70); c71 = F(a + 7, b1, c71);
            c80 = F(a + 8, b0, c80); c81 = F(a + 8, b1, c81); c90 = F(a + 9, b0, c90); c91 = F(a + 9, b1, c91);
            ca0 = F(a + 10, b0, ca0); ca1 = F(a + 10, b1, ca1); cb0 = F(a + 11, b0, cb0); cb1 = F(a + 11, b1, cb1);
            a += 12; b += 32 * TP.Bytes;
        }
        Put(c, c00, c01, overwrite); c += ldc; Put(c, c10, c11, overwrite); c += ldc; Put(c, c20, c21, overwrite); c += ldc;
        Put(c, c30, c31, overwrite); c += ldc; Put(c, c40, c41, overwrite); c += ldc; Put(c, c50, c51, overwrite); c += ldc;
        Put(c, c60, c61, overwrite); c += ldc; Put(c, c70, c71, overwrite); c += ldc; Put(c, c80, c81, overwrite); c += ldc;
        Put(c, c90, c91, overwrite); c += ldc; Put(c, ca0, ca1, overwrite); c += ldc; Put(c, cb0, cb1, overwrite);
    }

    // row (+)= x. An overwrite stores x, which is −0 + x bit for bit (the scratch tile's merge), without reading C: a
    // fresh output's page is then first written, not first read as the shared zero page and copied on the write that
    // follows (a second fault and a TLB-shootdown IPI to the other cores).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* row, Vector512<float> x0, Vector512<float> x1, bool overwrite)
    {
        Put(row, x0, overwrite);
        Put(row + 16, x1, overwrite);
    }

    // 12×16: one B load and twelve broadcast FMAs per k, twelve accumulators.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void HalfInto<TP>(int kc, float* a, byte* b, float* c, int ldc, bool overwrite) where TP : struct, IPanelFormat
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, ca = default, cb = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load512(b, 0);
            c0 = F(a, b0, c0); c1 = F(a + 1, b0, c1); c2 = F(a + 2, b0, c2); c3 = F(a + 3, b0, c3);
            c4 = F(a + 4, b0, c4); c5 = F(a + 5, b0, c5); c6 = F(a + 6, b0, c6); c7 = F(a + 7, b0, c7);
            c8 = F(a + 8, b0, c8); c9 = F(a + 9, b0, c9); ca = F(a + 10, b0, ca); cb = F(a + 11, b0, cb);
            a += 12; b += 32 * TP.Bytes;
        }
        Put(c, c0, overwrite); c += ldc; Put(c, c1, overwrite); c += ldc; Put(c, c2, overwrite); c += ldc;
        Put(c, c3, overwrite); c += ldc; Put(c, c4, overwrite); c += ldc; Put(c, c5, overwrite); c += ldc;
        Put(c, c6, overwrite); c += ldc; Put(c, c7, overwrite); c += ldc; Put(c, c8, overwrite); c += ldc;
        Put(c, c9, overwrite); c += ldc; Put(c, ca, overwrite); c += ldc; Put(c, cb, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* row, Vector512<float> x, bool overwrite) => (overwrite ? x : Vector512.Load(row) + x).Store(row);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Block4<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load512(b, 0); var b1 = TP.Load512(b, 1);
            c00 = F(a, b0, c00); c01 = F(a, b1, c01); c10 = F(a + 1, b0, c10); c11 = F(a + 1, b1, c11);
            c20 = F(a + 2, b0, c20); c21 = F(a + 2, b1, c21); c30 = F(a + 3, b0, c30); c31 = F(a + 3, b1, c31);
            a += 12; b += 32 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 16); c10.Store(t + 32); c11.Store(t + 48);
        c20.Store(t + 64); c21.Store(t + 80); c30.Store(t + 96); c31.Store(t + 112);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Row4<TP>(int kc, float* a, byte* b, long panelBytes, float* t) where TP : struct, IPanelFormat
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        byte* b1 = b + panelBytes, b2 = b1 + panelBytes, b3 = b2 + panelBytes;
        for (int p = 0; p < kc; p++)
        {
            c00 = F(a, TP.Load512(b, 0), c00); c01 = F(a, TP.Load512(b, 1), c01);
            c10 = F(a, TP.Load512(b1, 0), c10); c11 = F(a, TP.Load512(b1, 1), c11);
            c20 = F(a, TP.Load512(b2, 0), c20); c21 = F(a, TP.Load512(b2, 1), c21);
            c30 = F(a, TP.Load512(b3, 0), c30); c31 = F(a, TP.Load512(b3, 1), c31);
            a += 12; b += 32 * TP.Bytes; b1 += 32 * TP.Bytes; b2 += 32 * TP.Bytes; b3 += 32 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 16); c10.Store(t + 32); c11.Store(t + 48);
        c20.Store(t + 64); c21.Store(t + 80); c30.Store(t + 96); c31.Store(t + 112);
    }
}

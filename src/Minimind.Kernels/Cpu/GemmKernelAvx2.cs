using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The AVX2+FMA micro-kernel: a 6×16 register block, 12 ymm accumulators, per k two B loads and six broadcasts for
/// twelve FMAs (16 ymm registers hold no more). The block goes to a scratch tile: a loop with one plain exit keeps the
/// JIT from spilling the accumulators (measured 40 → 60 GFLOP/s per core when that changed).
/// </summary>
internal readonly unsafe struct GemmKernelAvx2 : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static CpuIsa Isa => CpuIsa.Avx2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> F(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Block<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load256(b, 0);
            var b1 = TP.Load256(b, 1);
            var x = Vector256.Create(a[0]); c00 = F(x, b0, c00); c01 = F(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = F(x, b0, c10); c11 = F(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = F(x, b0, c20); c21 = F(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = F(x, b0, c30); c31 = F(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = F(x, b0, c40); c41 = F(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = F(x, b0, c50); c51 = F(x, b1, c51);
            a += 6; b += 16 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24); c20.Store(t + 32); c21.Store(t + 40);
        c30.Store(t + 48); c31.Store(t + 56); c40.Store(t + 64); c41.Store(t + 72); c50.Store(t + 80); c51.Store(t + 88);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Block4<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load256(b, 0);
            var b1 = TP.Load256(b, 1);
            var x = Vector256.Create(a[0]); c00 = F(x, b0, c00); c01 = F(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = F(x, b0, c10); c11 = F(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = F(x, b0, c20); c21 = F(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = F(x, b0, c30); c31 = F(x, b1, c31);
            a += 6; b += 16 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24); c20.Store(t + 32); c21.Store(t + 40); c30.Store(t + 48); c31.Store(t + 56);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Row4<TP>(int kc, float* a, byte* b, long panelBytes, float* t) where TP : struct, IPanelFormat
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        byte* b1 = b + panelBytes, b2 = b1 + panelBytes, b3 = b2 + panelBytes;
        for (int p = 0; p < kc; p++)
        {
            var x = Vector256.Create(a[0]);
            c00 = F(x, TP.Load256(b, 0), c00); c01 = F(x, TP.Load256(b, 1), c01);
            c10 = F(x, TP.Load256(b1, 0), c10); c11 = F(x, TP.Load256(b1, 1), c11);
            c20 = F(x, TP.Load256(b2, 0), c20); c21 = F(x, TP.Load256(b2, 1), c21);
            c30 = F(x, TP.Load256(b3, 0), c30); c31 = F(x, TP.Load256(b3, 1), c31);
            a += 6; b += 16 * TP.Bytes; b1 += 16 * TP.Bytes; b2 += 16 * TP.Bytes; b3 += 16 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24); c20.Store(t + 32); c21.Store(t + 40); c30.Store(t + 48); c31.Store(t + 56);
    }
}

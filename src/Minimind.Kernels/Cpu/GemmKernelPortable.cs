using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The portable micro-kernel: the AVX2 kernel's 6×16 block in <see cref="Vector128"/> (24 accumulators, which NEON's
/// 32 registers hold) with <see cref="Vector128.FusedMultiplyAdd(Vector128{float}, Vector128{float}, Vector128{float})"/>:
/// one rounding per term on every CPU (a software FMA where the hardware has none, slow but the same bits).
/// </summary>
internal readonly unsafe struct GemmKernelPortable : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static CpuIsa Isa => CpuIsa.Portable;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float x, Vector128<float> b0, Vector128<float> b1, Vector128<float> b2, Vector128<float> b3,
        ref Vector128<float> c0, ref Vector128<float> c1, ref Vector128<float> c2, ref Vector128<float> c3)
    {
        var v = Vector128.Create(x);
        c0 = Vector128.FusedMultiplyAdd(v, b0, c0); c1 = Vector128.FusedMultiplyAdd(v, b1, c1);
        c2 = Vector128.FusedMultiplyAdd(v, b2, c2); c3 = Vector128.FusedMultiplyAdd(v, b3, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Block<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat
    {
        Vector128<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        Vector128<float> c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load128(b, 0); var b1 = TP.Load128(b, 1); var b2 = TP.Load128(b, 2); var b3 = TP.Load128(b, 3);
            Row(a[0], b0, b1, b2, b3, ref c00, ref c01, ref c02, ref c03);
            Row(a[1], b0, b1, b2, b3, ref c10, ref c11, ref c12, ref c13);
            Row(a[2], b0, b1, b2, b3, ref c20, ref c21, ref c22, ref c23);
            Row(a[3], b0, b1, b2, b3, ref c30, ref c31, ref c32, ref c33);
            Row(a[4], b0, b1, b2, b3, ref c40, ref c41, ref c42, ref c43);
            Row(a[5], b0, b1, b2, b3, ref c50, ref c51, ref c52, ref c53);
            a += 6; b += 16 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 4); c02.Store(t + 8); c03.Store(t + 12); c10.Store(t + 16); c11.Store(t + 20); c12.Store(t + 24); c13.Store(t + 28);
        c20.Store(t + 32); c21.Store(t + 36); c22.Store(t + 40); c23.Store(t + 44); c30.Store(t + 48); c31.Store(t + 52); c32.Store(t + 56); c33.Store(t + 60);
        c40.Store(t + 64); c41.Store(t + 68); c42.Store(t + 72); c43.Store(t + 76); c50.Store(t + 80); c51.Store(t + 84); c52.Store(t + 88); c53.Store(t + 92);
    }

    // The slowest path keeps the scratch tile: Block, then Sgemm's merge.
    public static void BlockInto<TP>(int kc, float* a, byte* b, float* c, int ldc, bool overwrite) where TP : struct, IPanelFormat
    {
        float* t = stackalloc float[MR * NR];
        Block<TP>(kc, a, b, t);
        Sgemm.Merge<GemmKernelPortable>(t, c, ldc, MR, NR, overwrite);
    }

    // The slowest path keeps the scratch tile here too: the whole block, of which the left half is merged.
    public static void HalfInto<TP>(int kc, float* a, byte* b, float* c, int ldc, bool overwrite) where TP : struct, IPanelFormat
    {
        float* t = stackalloc float[MR * NR];
        Block<TP>(kc, a, b, t);
        Sgemm.Merge<GemmKernelPortable>(t, c, ldc, MR, NR / 2, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Block4<TP>(int kc, float* a, byte* b, float* t) where TP : struct, IPanelFormat
    {
        Vector128<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = TP.Load128(b, 0); var b1 = TP.Load128(b, 1); var b2 = TP.Load128(b, 2); var b3 = TP.Load128(b, 3);
            Row(a[0], b0, b1, b2, b3, ref c00, ref c01, ref c02, ref c03);
            Row(a[1], b0, b1, b2, b3, ref c10, ref c11, ref c12, ref c13);
            Row(a[2], b0, b1, b2, b3, ref c20, ref c21, ref c22, ref c23);
            Row(a[3], b0, b1, b2, b3, ref c30, ref c31, ref c32, ref c33);
            a += 6; b += 16 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 4); c02.Store(t + 8); c03.Store(t + 12); c10.Store(t + 16); c11.Store(t + 20); c12.Store(t + 24); c13.Store(t + 28);
        c20.Store(t + 32); c21.Store(t + 36); c22.Store(t + 40); c23.Store(t + 44); c30.Store(t + 48); c31.Store(t + 52); c32.Store(t + 56); c33.Store(t + 60);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    public static void Row4<TP>(int kc, float* a, byte* b, long panelBytes, float* t) where TP : struct, IPanelFormat
    {
        Vector128<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector128<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        byte* b1 = b + panelBytes, b2 = b1 + panelBytes, b3 = b2 + panelBytes;
        for (int p = 0; p < kc; p++)
        {
            float x = a[0];
            Row(x, TP.Load128(b, 0), TP.Load128(b, 1), TP.Load128(b, 2), TP.Load128(b, 3), ref c00, ref c01, ref c02, ref c03);
            Row(x, TP.Load128(b1, 0), TP.Load128(b1, 1), TP.Load128(b1, 2), TP.Load128(b1, 3), ref c10, ref c11, ref c12, ref c13);
            Row(x, TP.Load128(b2, 0), TP.Load128(b2, 1), TP.Load128(b2, 2), TP.Load128(b2, 3), ref c20, ref c21, ref c22, ref c23);
            Row(x, TP.Load128(b3, 0), TP.Load128(b3, 1), TP.Load128(b3, 2), TP.Load128(b3, 3), ref c30, ref c31, ref c32, ref c33);
            a += 6; b += 16 * TP.Bytes; b1 += 16 * TP.Bytes; b2 += 16 * TP.Bytes; b3 += 16 * TP.Bytes;
        }
        c00.Store(t); c01.Store(t + 4); c02.Store(t + 8); c03.Store(t + 12); c10.Store(t + 16); c11.Store(t + 20); c12.Store(t + 24); c13.Store(t + 28);
        c20.Store(t + 32); c21.Store(t + 36); c22.Store(t + 40); c23.Store(t + 44); c30.Store(t + 48); c31.Store(t + 52); c32.Store(t + 56); c33.Store(t + 60);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>Float32 panels: row p of a panel is NR consecutive floats. Every value is representable.</summary>
internal readonly unsafe struct F32Panels : IPanelFormat
{
    public static int Bytes => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(byte* row, int half) => Vector512.Load((float*)row + 16 * half);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(byte* row, int half) => Vector256.Load((float*)row + 8 * half);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load128(byte* row, int quarter) => Vector128.Load((float*)row + 4 * quarter);

    public static bool PackB<TK>(byte* panel, float* s0, int rs, int cs, int nr, int kc, Precision precision) where TK : struct, IGemmKernel
    {
        Sgemm.PackB<TK>((float*)panel, s0, rs, cs, nr, kc, precision);
        return true;
    }

    public static bool PackBRows<TK>(byte* panels, float* s0, int rs, int N, int first, int last, int kc, Precision precision) where TK : struct, IGemmKernel
    {
        Sgemm.PackBRows<TK>((float*)panels, s0, rs, N, first, last, kc, precision);
        return true;
    }
}

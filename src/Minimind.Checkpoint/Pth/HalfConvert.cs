using System.Runtime.CompilerServices;

namespace Minimind.Checkpoint;

/// <summary>float32 ↔ float16 / bfloat16 bit conversions with PyTorch's rounding (nearest, ties to even).</summary>
public static class HalfConvert
{
    /// <summary>bfloat16 bits → float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>float32 → bfloat16 bits, round to nearest even; NaN becomes the quiet NaN 0x7FC0 as in c10.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToBF16(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint u = BitConverter.SingleToUInt32Bits(f);
        uint bias = ((u >> 16) & 1) + 0x7FFF;
        return (ushort)((u + bias) >> 16);
    }

    /// <summary>float16 bits → float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16ToFloat(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>float32 → float16 bits; .NET's conversion is IEEE round-to-nearest-even, as c10::Half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FloatToF16(float f) => BitConverter.HalfToUInt16Bits((Half)f);
}

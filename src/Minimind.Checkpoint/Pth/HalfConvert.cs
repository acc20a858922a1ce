using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Minimind.Checkpoint;

/// <summary>
/// float32 ↔ float16 / bfloat16 bit conversions with PyTorch's rounding (nearest, ties to even). The span
/// forms are vectorised and give exactly the bits of the one-element forms, so a result does not depend on
/// where a vector ends.
/// </summary>
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

    /// <summary>float16 bits → float32 for a whole span (<paramref name="dst"/> at least as long as <paramref name="src"/>).</summary>
    public static void F16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(src), dst);

    /// <summary>float32 → float16 bits for a whole span.</summary>
    public static void FloatToF16(ReadOnlySpan<float> src, Span<ushort> dst) =>
        TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<ushort, Half>(dst));

    /// <summary>bfloat16 bits → float32 for a whole span: each value moves to the high half of a float.</summary>
    public static void BF16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than the source", nameof(dst));
        var outBits = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= src.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(src.Slice(i, Vector256<ushort>.Count)));
                Vector256.ShiftLeft(lo, 16).CopyTo(outBits.Slice(i));
                Vector256.ShiftLeft(hi, 16).CopyTo(outBits.Slice(i + Vector256<uint>.Count));
            }
        for (; i < src.Length; i++) dst[i] = BF16ToFloat(src[i]);
    }

    /// <summary>float32 → bfloat16 bits for a whole span (round to nearest even, NaN → 0x7FC0).</summary>
    public static void FloatToBF16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than the source", nameof(dst));
        var inBits = MemoryMarshal.Cast<float, uint>(src);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1u);
            var bias = Vector256.Create(0x7FFFu);
            var absMask = Vector256.Create(0x7FFFFFFFu);
            var inf = Vector256.Create(0x7F800000u);
            var qnan = Vector256.Create(0x7FC0u);
            for (; i <= src.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var lo = Round(Vector256.Create(inBits.Slice(i, Vector256<uint>.Count)));
                var hi = Round(Vector256.Create(inBits.Slice(i + Vector256<uint>.Count, Vector256<uint>.Count)));
                Vector256.Narrow(lo, hi).CopyTo(dst.Slice(i));
            }

            Vector256<uint> Round(Vector256<uint> u)
            {
                var rounded = Vector256.ShiftRightLogical(u + bias + (Vector256.ShiftRightLogical(u, 16) & one), 16);
                return Vector256.ConditionalSelect(Vector256.GreaterThan(u & absMask, inf), qnan, rounded);
            }
        }
        for (; i < src.Length; i++) dst[i] = FloatToBF16(src[i]);
    }
}

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

    // The span forms below are compiled fully optimised on first use (AggressiveOptimization): a checkpoint load calls
    // them a few dozen times, too few for tiered compilation to replace slow first-tier vector code in time.

    /// <summary>float16 bits → float32 for a whole span (<paramref name="dst"/> at least as long as <paramref name="src"/>).</summary>
    public static void F16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst) => Widen<F16>(src, dst);

    /// <summary>float32 → float16 bits for a whole span (round to nearest even, as the one-element form).</summary>
    public static void FloatToF16(ReadOnlySpan<float> src, Span<ushort> dst) => Narrow<F16>(src, dst);

    /// <summary>bfloat16 bits → float32 for a whole span: each value moves to the high half of a float.</summary>
    public static void BF16ToFloat(ReadOnlySpan<ushort> src, Span<float> dst) => Widen<BF16>(src, dst);

    /// <summary>float32 → bfloat16 bits for a whole span (round to nearest even, NaN → 0x7FC0).</summary>
    public static void FloatToBF16(ReadOnlySpan<float> src, Span<ushort> dst) => Narrow<BF16>(src, dst);

    /// <summary>One 16-bit float format: its per-lane conversions and the one-element forms they must equal.</summary>
    private interface IFormat
    {
        static abstract Vector256<uint> ToFloatBits(Vector256<uint> bits16);
        static abstract Vector256<uint> FromFloatBits(Vector256<uint> bits32);
        static abstract float ToFloat(ushort bits);
        static abstract ushort FromFloat(float f);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Widen<T>(ReadOnlySpan<ushort> src, Span<float> dst) where T : struct, IFormat
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than the source", nameof(dst));
        var outBits = MemoryMarshal.Cast<float, uint>(dst);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= src.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(src.Slice(i, Vector256<ushort>.Count)));
                T.ToFloatBits(lo).CopyTo(outBits.Slice(i));
                T.ToFloatBits(hi).CopyTo(outBits.Slice(i + Vector256<uint>.Count));
            }
        for (; i < src.Length; i++) dst[i] = T.ToFloat(src[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow<T>(ReadOnlySpan<float> src, Span<ushort> dst) where T : struct, IFormat
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than the source", nameof(dst));
        var inBits = MemoryMarshal.Cast<float, uint>(src);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= src.Length - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var lo = T.FromFloatBits(Vector256.Create(inBits.Slice(i, Vector256<uint>.Count)));
                var hi = T.FromFloatBits(Vector256.Create(inBits.Slice(i + Vector256<uint>.Count, Vector256<uint>.Count)));
                Vector256.Narrow(lo, hi).CopyTo(dst.Slice(i));
            }
        for (; i < src.Length; i++) dst[i] = T.FromFloat(src[i]);
    }

    private readonly struct F16 : IFormat
    {
        public static float ToFloat(ushort bits) => F16ToFloat(bits);
        public static ushort FromFloat(float f) => FloatToF16(f);

        // Move exponent and fraction into place and rebias the exponent; infinities/NaNs get the top exponent
        // (NaNs quieted, payload kept, as .NET's Half → float); zeros and subnormals are scaled exactly by one
        // float subtraction.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> ToFloatBits(Vector256<uint> h)
        {
            var em = h & Vector256.Create(0x7FFFu);
            var o = Vector256.ShiftLeft(em, 13);
            var exp = o & Vector256.Create(0x0F800000u);
            var normal = o + Vector256.Create(0x38000000u);
            var special = (o + Vector256.Create(0x70000000u)) | (Vector256.GreaterThan(em, Vector256.Create(0x7C00u)) & Vector256.Create(0x00400000u));
            var magic = Vector256.Create(0x38800000u).AsSingle();
            var tiny = ((o + Vector256.Create(0x38800000u)).AsSingle() - magic).AsUInt32();
            var r = Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256.Create(0x0F800000u)), special,
                    Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256<uint>.Zero), tiny, normal));
            return r | Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16);
        }

        // Round to nearest even: values from 65520 up become infinity, NaNs keep the top of their payload and are
        // quieted (as .NET's float → Half), subnormals are rounded by one float addition that puts the wanted bits
        // at the bottom of the mantissa, normals by adding half an ulp (+1 when odd).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> FromFloatBits(Vector256<uint> f)
        {
            var sign = Vector256.ShiftRightLogical(f & Vector256.Create(0x80000000u), 16);
            var a = f & Vector256.Create(0x7FFFFFFFu);
            var isNaN = Vector256.GreaterThan(a, Vector256.Create(0x7F800000u));
            var nan = Vector256.Create(0x7E00u) | Vector256.ShiftRightLogical(a & Vector256.Create(0x007FFFFFu), 13);
            var overflow = Vector256.GreaterThanOrEqual(a, Vector256.Create(0x47800000u)); // 2^16: infinity (65520..65536 round up below)
            var magic = Vector256.Create(0x3F000000u).AsSingle();                         // 0.5: aligns subnormal bits at the bottom
            var tiny = (a.AsSingle() + magic).AsUInt32() - Vector256.Create(0x3F000000u);
            var odd = Vector256.ShiftRightLogical(a, 13) & Vector256.Create(1u);
            var normal = Vector256.ShiftRightLogical(a + Vector256.Create(0xC8000FFFu) + odd, 13);
            var r = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(0x38800000u)), tiny, normal);
            r = Vector256.ConditionalSelect(overflow, Vector256.Create(0x7C00u), r);
            r = Vector256.ConditionalSelect(isNaN, nan, r);
            return r | sign;
        }
    }

    private readonly struct BF16 : IFormat
    {
        public static float ToFloat(ushort bits) => BF16ToFloat(bits);
        public static ushort FromFloat(float f) => FloatToBF16(f);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> ToFloatBits(Vector256<uint> h) => Vector256.ShiftLeft(h, 16);

        // Round to nearest even by adding 0x7FFF plus the lowest kept bit; NaN → the quiet NaN 0x7FC0.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> FromFloatBits(Vector256<uint> u)
        {
            var rounded = Vector256.ShiftRightLogical(u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256.Create(1u)), 16);
            return Vector256.ConditionalSelect(Vector256.GreaterThan(u & Vector256.Create(0x7FFFFFFFu), Vector256.Create(0x7F800000u)), Vector256.Create(0x7FC0u), rounded);
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// <see cref="PrecisionRounding.Round(float, Precision)"/> on eight floats at once, for the packing routines that round
/// matmul operands while they copy them (through <see cref="IOperandRounding"/>, so a bf16/fp16 matmul makes no rounded copy of its inputs first). Bit for bit
/// the scalar rounding: nearest-even at the format's last bit, fp16 subnormals on the 2⁻²⁴ grid, fp16 overflow to ±∞;
/// a vector holding a NaN goes through the scalar code (NaN payloads then match too).
/// </summary>
internal static class OperandRounding
{
    /// <summary>v rounded to bf16 (nearest even at bit 16); NaNs pass through unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> RoundBf16(Vector256<float> v)
    {
        var u = v.AsUInt32();
        var r = (u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256.Create(1u))) & Vector256.Create(0xFFFF0000u);
        // v == v is false exactly for NaN: one float compare, where testing the bits for NaN took three integer ops.
        return Vector256.ConditionalSelect(Vector256.Equals(v, v).AsUInt32(), r, u).AsSingle();
    }

    /// <summary>v rounded to fp16 (see the class remarks).</summary>
    internal static Vector256<float> RoundFp16(Vector256<float> v)
    {
        var u = v.AsUInt32();
        var a = u & Vector256.Create(0x7FFFFFFFu);
        if (Vector256.GreaterThanAny(a, Vector256.Create(0x7F800000u))) return Scalar(v, Precision.Fp16);
        var sign = u & Vector256.Create(0x80000000u);
        // Normal fp16 range: keep 10 of the 23 fraction bits, nearest even (the carry may step into the exponent).
        var normal = (u + Vector256.Create(0xFFFu) + (Vector256.ShiftRightLogical(u, 13) & Vector256.Create(1u))) & Vector256.Create(0xFFFFE000u);
        // Below 2⁻¹⁴ fp16 is subnormal, a grid of 2⁻²⁴ = ulp(0.5): adding and removing 0.5 rounds to it, nearest even.
        var half = Vector256.Create(0.5f);
        var sub = ((a.AsSingle() + half) - half).AsUInt32() | sign;
        // 65520 and above rounds past the largest fp16 (65504) to infinity.
        var inf = sign | Vector256.Create(0x7F800000u);
        var r = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(0x38800000u)), sub, normal);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256.Create(0x477FF000u)), inf, r).AsSingle();
    }

    private static Vector256<float> Scalar(Vector256<float> v, Precision p)
    {
        Span<float> t = stackalloc float[8];
        v.CopyTo(t);
        for (int i = 0; i < 8; i++) t[i] = PrecisionRounding.Round(t[i], p);
        return Vector256.Create<float>(t);
    }
}

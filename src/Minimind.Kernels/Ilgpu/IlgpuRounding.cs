using ILGPU;

namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// <see cref="PrecisionRounding.Round(float, Precision)"/> for kernels: ILGPU has no BFloat16 and System.Half does not
/// compile, so both formats round the float32 bits with integer ops (nearest, ties to even; NaN kept; fp16 overflows
/// to ±∞ and rounds below 2^-14 to multiples of 2^-24, as IEEE half's subnormals). Same bits as the host rounding.
/// </summary>
public static class IlgpuRounding
{
    /// <summary>x rounded to <paramref name="precision"/> (a <see cref="Precision"/> value as int: 0 fp32, 1 bf16, 2 fp16).</summary>
    public static float Round(float x, int precision) => precision == 1 ? Bf16(x) : precision == 2 ? Fp16(x) : x;

    /// <summary>x rounded to bfloat16 (8 significant bits), widened back.</summary>
    public static float Bf16(float x)
    {
        uint u = Interop.FloatAsInt(x);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u) return x;
        // Add 0x7FFF plus the lowest kept bit, clear the low half: a carry into the exponent is the correct rounding.
        return Interop.IntAsFloat((u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u);
    }

    /// <summary>x rounded to IEEE float16 (11 significant bits, subnormals, |x| ≥ 65520 → ±∞), widened back.</summary>
    public static float Fp16(float x)
    {
        uint u = Interop.FloatAsInt(x), sign = u & 0x80000000u, a = u & 0x7FFFFFFFu;
        if (a > 0x7F800000u) return x;
        if (a >= 0x38800000u)
        {
            // |x| ≥ 2^-14 (fp16 normal): keep 10 fraction bits; anything above 65504 after rounding is ∞ (so is ∞).
            uint r = (a + 0xFFFu + ((a >> 13) & 1u)) & 0xFFFFE000u;
            return Interop.IntAsFloat(sign | (r > 0x477FE000u ? 0x7F800000u : r));
        }
        // Below 2^-14: round |x| / 2^-24 = significand >> shift to an integer (ties to even); shift ≥ 25 leaves 0.
        int shift = 126 - (int)(a >> 23);
        if (shift >= 25) return Interop.IntAsFloat(sign);
        uint m = (a & 0x7FFFFFu) | 0x800000u;
        uint quanta = (m + (1u << (shift - 1)) - 1u + ((m >> shift) & 1u)) >> shift;
        return Interop.IntAsFloat(sign | Interop.FloatAsInt((int)quanta * 5.9604645E-08f));
    }
}

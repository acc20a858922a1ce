using ILGPU;

namespace Minimind.Kernels.Ilgpu.Mma;

/// <summary>
/// <see cref="PrecisionRounding"/> for kernels: ILGPU has no BFloat16 and its Half conversion is software on the
/// simulator, so both formats are rounded with integer ops on the float bits (round to nearest, ties to even; fp16
/// overflows to ±∞ from 65520, underflows through its subnormals) and give the same values as the CPU backend.
/// <c>precision</c> is the int of <see cref="Precision"/>: 0 fp32, 1 bf16, 2 fp16. Plain static methods, so the
/// host can test them against <see cref="PrecisionRounding.Round(float, Precision)"/>.
/// </summary>
public static class DeviceRounding
{
    /// <summary>x rounded to the format and widened back to float32 (fp32: x itself; NaN stays NaN).</summary>
    public static float Round(float x, int precision) => precision == 0 ? x : FromBits(ToBits(x, precision), precision);

    /// <summary>The 16-bit pattern (low half of the result) of x rounded to bf16 (1) or fp16 (2).</summary>
    public static uint ToBits(float x, int precision) => precision == 1 ? Bf16Bits(x) : HalfBits(x);

    /// <summary>The float32 value of a bf16 (1) or fp16 (2) bit pattern held in the low 16 bits of <paramref name="h"/>.</summary>
    public static float FromBits(uint h, int precision) => precision == 1 ? Interop.IntAsFloat((h & 0xFFFFu) << 16) : HalfValue(h);

    /// <summary>Two rounded values packed as one .b32 register of a .bf16x2/.f16x2 fragment: <paramref name="lo"/> in bits 0–15.</summary>
    public static uint Pack(float lo, float hi, int precision) => ToBits(lo, precision) | (ToBits(hi, precision) << 16);

    /// <summary>The element in bits 0–15 of a packed register, as float32.</summary>
    public static float Lo(uint r, int precision) => FromBits(r, precision);

    /// <summary>The element in bits 16–31 of a packed register, as float32.</summary>
    public static float Hi(uint r, int precision) => FromBits(r >> 16, precision);

    // Round at bit 16 (add 0x7FFF plus the lowest kept bit); a NaN keeps a quiet-NaN pattern instead of rounding.
    private static uint Bf16Bits(float x)
    {
        uint u = Interop.FloatAsInt(x);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u;
        return (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    }

    private static uint HalfBits(float x)
    {
        uint u = Interop.FloatAsInt(x);
        uint sign = (u >> 16) & 0x8000u, a = u & 0x7FFFFFFFu;
        if (a > 0x7F800000u) return sign | 0x7E00u;                 // NaN
        if (a >= 0x477FF000u) return sign | 0x7C00u;                // |x| >= 65520 rounds past 65504: inf
        if (a >= 0x38800000u)                                       // normal half (|x| >= 2^-14): round at bit 13, rebias 127 -> 15
            return sign | (((a + 0xFFFu + ((a >> 13) & 1u)) >> 13) - (112u << 10));
        int e = (int)(a >> 23);
        if (e < 102) return sign;                                   // below 2^-25: rounds to ±0
        uint m = (a & 0x7FFFFFu) | 0x800000u;                       // subnormal half: quantum 2^-24 = m >> (126 - e)
        int shift = 126 - e;
        return sign | ((m + (1u << (shift - 1)) - 1u + ((m >> shift) & 1u)) >> shift);
    }

    private static float HalfValue(uint h)
    {
        uint sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
        if (e == 0) return Interop.IntAsFloat(Interop.FloatAsInt((int)m * 5.9604644775390625E-8f) | sign);   // m·2^-24, exact
        if (e == 31) return Interop.IntAsFloat(sign | 0x7F800000u | (m << 13));
        return Interop.IntAsFloat(sign | ((e + 112u) << 23) | (m << 13));
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels;

/// <summary>
/// The operand precision of a matmul or attention op, as torch.autocast runs them: <see cref="Bf16"/> and
/// <see cref="Fp16"/> round every input operand to that format (nearest, ties to even) and accumulate in float32;
/// outputs stay float32. Everything else (RMSNorm, softmax, cross-entropy, the optimizer) is always float32.
/// </summary>
public enum Precision
{
    /// <summary>float32 operands (no rounding).</summary>
    Fp32 = 0,
    /// <summary>Operands rounded to bfloat16 (8 exponent bits, 8 significant bits).</summary>
    Bf16 = 1,
    /// <summary>Operands rounded to IEEE float16 (5 exponent bits, 11 significant bits; |x| ≥ 65520 → ∞).</summary>
    Fp16 = 2,
}

/// <summary>Rounds float32 values to the nearest value of a 16-bit format, kept as float32 (what a bf16/fp16 tensor
/// holds, widened back). Same bits as torch's <c>x.to(dtype).float()</c>; the span form equals the one-element form.</summary>
public static class PrecisionRounding
{
    /// <summary>Parses MiniMind's --dtype spellings: fp32|float32, bf16|bfloat16, fp16|float16.</summary>
    public static Precision Parse(string text) => text.ToLowerInvariant() switch
    {
        "fp32" or "float32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        "fp16" or "float16" => Precision.Fp16,
        _ => throw new ArgumentException($"unknown dtype '{text}' (expected fp32, bf16 or fp16)"),
    };

    /// <summary>The short name: fp32, bf16 or fp16.</summary>
    public static string Name(this Precision p) => p switch { Precision.Bf16 => "bf16", Precision.Fp16 => "fp16", _ => "fp32" };

    /// <summary>x rounded to <paramref name="p"/> (NaN stays NaN; fp16 overflows to ±∞).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x, Precision p) => p switch
    {
        Precision.Bf16 => float.IsNaN(x) ? x : BitConverter.UInt32BitsToSingle(RoundBf16Bits(BitConverter.SingleToUInt32Bits(x))),
        Precision.Fp16 => (float)(Half)x,
        _ => x,
    };

    // Round to nearest even at bit 16: add 0x7FFF plus the lowest kept bit, clear the low half.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint RoundBf16Bits(uint u) => (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;

    /// <summary>dst[i] = Round(src[i], p) (dst may be src).</summary>
    public static void Round(ReadOnlySpan<float> src, Span<float> dst, Precision p)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than the source", nameof(dst));
        if (p == Precision.Fp32) { src.CopyTo(dst); return; }
        int i = 0;
        if (p == Precision.Bf16 && Vector256.IsHardwareAccelerated)
        {
            var si = MemoryMarshal.Cast<float, uint>(src);
            var di = MemoryMarshal.Cast<float, uint>(dst);
            for (; i <= src.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
            {
                var u = Vector256.Create(si.Slice(i, Vector256<uint>.Count));
                var r = (u + Vector256.Create(0x7FFFu) + (Vector256.ShiftRightLogical(u, 16) & Vector256.Create(1u))) & Vector256.Create(0xFFFF0000u);
                var nan = Vector256.GreaterThan(u & Vector256.Create(0x7FFFFFFFu), Vector256.Create(0x7F800000u));
                Vector256.ConditionalSelect(nan, u, r).CopyTo(di.Slice(i));
            }
        }
        for (; i < src.Length; i++) dst[i] = Round(src[i], p);
    }
}

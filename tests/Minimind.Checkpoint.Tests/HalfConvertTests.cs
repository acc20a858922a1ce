namespace Minimind.Checkpoint.Tests;

/// <summary>
/// The vectorised span conversions against an exact hand decode and against the one-element forms
/// (which the torch fixtures check): every float16/bfloat16 bit pattern, and millions of float32 patterns
/// with the rounding edges, at lengths that end mid-vector.
/// </summary>
public class HalfConvertTests
{
    // float16 by definition: sign, 5-bit exponent (bias 15), 10-bit fraction; subnormals below exponent 1.
    private static double DecodeF16(int h)
    {
        int sign = h >> 15, e = (h >> 10) & 0x1F, m = h & 0x3FF;
        double v = e == 0 ? m * Math.Pow(2, -24) : e == 31 ? (m == 0 ? double.PositiveInfinity : double.NaN) : (1024 + m) * Math.Pow(2, e - 25);
        return sign == 1 ? -v : v;
    }

    [Fact]
    public void EveryHalfPatternWidensExactly()
    {
        var all = new ushort[65536 + 5]; // the extra elements leave a ragged tail after the last vector
        for (int i = 0; i < all.Length; i++) all[i] = (ushort)i;
        var f16 = new float[all.Length];
        var bf16 = new float[all.Length];
        HalfConvert.F16ToFloat(all, f16);
        HalfConvert.BF16ToFloat(all, bf16);
        for (int i = 0; i < all.Length; i++)
        {
            double want = DecodeF16(all[i]);
            if (double.IsNaN(want)) Assert.True(float.IsNaN(f16[i]), $"f16 0x{all[i]:x4}");
            else Assert.True(want == f16[i] && double.IsNegative(want) == float.IsNegative(f16[i]), $"f16 0x{all[i]:x4}: {f16[i]} want {want}");
            Assert.Equal(BitConverter.SingleToUInt32Bits(HalfConvert.F16ToFloat(all[i])), BitConverter.SingleToUInt32Bits(f16[i]));
            Assert.Equal((uint)all[i] << 16, BitConverter.SingleToUInt32Bits(bf16[i]));
        }
    }

    [Fact]
    public void NarrowingMatchesTheOneElementFormsBitForBit()
    {
        var rnd = new Random(21);
        var bits = new List<uint>();
        for (int i = 0; i < 1 << 22; i++) bits.Add((uint)rnd.NextInt64(0, 1L << 32));
        // Rounding edges: halfway cases and their neighbours around every float16 and bfloat16 value of a few
        // exponents, the float16 overflow threshold (65520), subnormal boundaries, zeros, infinities, NaNs.
        foreach (float x in new[] { 65504f, 65519.99f, 65520f, 65536f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f, 0f, -0f,
                                    float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, float.Epsilon, 3.3895314e38f })
            for (int d = -2; d <= 2; d++) { bits.Add((uint)((int)BitConverter.SingleToUInt32Bits(x) + d)); bits.Add((uint)((int)BitConverter.SingleToUInt32Bits(-x) + d)); }
        for (uint h = 0; h < 0x10000; h += 37)
        {
            uint f = BitConverter.SingleToUInt32Bits(HalfConvert.F16ToFloat((ushort)h));
            foreach (uint off in new uint[] { 0x0FFF, 0x1000, 0x1001, 0x7FFF, 0x8000, 0x8001 }) bits.Add(f + off);
            bits.Add((h << 16) | 0x8000); bits.Add((h << 16) | 0x7FFF); bits.Add((h << 16) | 0x8001);
        }
        bits.Add(0x7F800001); bits.Add(0xFFC00001); bits.Add(0x7FBFFFFF); // signalling and payload NaNs
        var src = bits.Select(BitConverter.UInt32BitsToSingle).ToArray();
        foreach (int len in new[] { src.Length, src.Length - 3, 15, 17, 1, 0 })
        {
            var s = src.AsSpan(src.Length - len);
            var f16 = new ushort[len];
            var b16 = new ushort[len];
            HalfConvert.FloatToF16(s, f16);
            HalfConvert.FloatToBF16(s, b16);
            for (int i = 0; i < len; i++)
            {
                if (f16[i] != HalfConvert.FloatToF16(s[i])) Assert.Fail($"f16 of 0x{BitConverter.SingleToUInt32Bits(s[i]):x8}: 0x{f16[i]:x4}, one-element form 0x{HalfConvert.FloatToF16(s[i]):x4}");
                if (b16[i] != HalfConvert.FloatToBF16(s[i])) Assert.Fail($"bf16 of 0x{BitConverter.SingleToUInt32Bits(s[i]):x8}: 0x{b16[i]:x4}, one-element form 0x{HalfConvert.FloatToBF16(s[i]):x4}");
            }
        }
    }
}

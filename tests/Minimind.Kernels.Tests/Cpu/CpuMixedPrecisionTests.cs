using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// Autocast precision (bf16/fp16 operands, float32 accumulation) of the matmul and attention ops against float64.
/// Two references per op: float64 on the operands rounded by an independent float64 rounding (must agree to float32
/// summation error, since a product of two 8- or 11-bit significands is exact in float32), and float64 on the
/// unrounded operands (must differ by about the format's unit roundoff: proves the rounding happened, and bounds it).
/// </summary>
public class CpuMixedPrecisionTests
{
    /// <summary>x rounded to a format with <paramref name="bits"/> significant bits, min normal exponent
    /// <paramref name="minExp"/> and overflow threshold <paramref name="overflow"/>, computed in float64 (ties to even).</summary>
    private static double RoundRef(double x, int bits, int minExp, double overflow)
    {
        if (x == 0 || !double.IsFinite(x)) return x;
        int e = Math.Max(Math.ILogB(x), minExp);
        double ulp = Math.ScaleB(1.0, e - (bits - 1));
        double r = Math.Round(x / ulp, MidpointRounding.ToEven) * ulp;
        return Math.Abs(r) >= overflow ? Math.CopySign(double.PositiveInfinity, x) : r;
    }

    private static double RoundRef(double x, Precision p) => p switch
    {
        // bf16: 8 significant bits, float32's exponent range; overflow once the rounded value passes float.MaxValue.
        Precision.Bf16 => RoundRef(x, 8, -126, Math.ScaleB(1.0, 128)),
        // fp16: 11 significant bits, subnormals below 2^-14, 65520 and up round to infinity.
        Precision.Fp16 => RoundRef(x, 11, -14, 65520),
        _ => x,
    };

    private static double[] RoundRef(double[] x, Precision p) => x.Select(v => RoundRef(v, p)).ToArray();

    // Unit roundoff of each format: the largest relative error of one rounding.
    private static double Unit(Precision p) => p == Precision.Bf16 ? Math.ScaleB(1.0, -8) : Math.ScaleB(1.0, -11);

    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Fp16)]
    public void Rounding_MatchesFloat64Rounding_IncludingTiesSubnormalsAndOverflow(Precision p)
    {
        var rng = new Random(7);
        var xs = new List<float> { 0f, -0f, 1f, 65504f, 65519.99f, 65520f, 1e-8f, -3e-6f, 6.1e-5f, float.MaxValue, float.Epsilon, float.PositiveInfinity };
        // Exact ties: 1 + half an ulp of the format, and 1 + 1.5 ulps (round up to even).
        int bits = p == Precision.Bf16 ? 8 : 11;
        xs.Add(1f + MathF.ScaleB(1f, -bits)); xs.Add(1f + 3 * MathF.ScaleB(1f, -bits));
        for (int i = 0; i < 4000; i++) xs.Add(BitConverter.Int32BitsToSingle(rng.Next()) * (rng.Next(2) == 0 ? 1 : -1));
        var src = xs.Where(float.IsFinite).Concat(new[] { float.PositiveInfinity, float.NegativeInfinity }).ToArray();
        var dst = new float[src.Length];
        PrecisionRounding.Round(src, dst, p);
        for (int i = 0; i < src.Length; i++)
        {
            double want = RoundRef(src[i], p);
            Assert.True(want.Equals((double)dst[i]), $"{p}: round({src[i]:R}) = {dst[i]:R}, float64 rounding gives {want:R}");
            Assert.Equal(BitConverter.SingleToInt32Bits(PrecisionRounding.Round(src[i], p)), BitConverter.SingleToInt32Bits(dst[i]));
        }
        Assert.True(float.IsNaN(PrecisionRounding.Round(float.NaN, p)));
    }

    [Theory]
    [InlineData(Precision.Bf16, 3, 5, 7, 11)]      // GEMV path (M <= 4)
    [InlineData(Precision.Bf16, 37, 29, 70, 12)]   // packed SGEMM, ragged tiles
    [InlineData(Precision.Fp16, 2, 65, 33, 13)]
    [InlineData(Precision.Fp16, 64, 48, 130, 14)]
    public void MatMul_AllLayouts_MatchFloat64OnRoundedOperands(Precision p, int m, int n, int k, int seed)
    {
        using var h = new CpuHarness();
        var x = TestData.Uniform(seed, m * k); var w = TestData.Uniform(seed + 1, n * k); var dy = TestData.Uniform(seed + 2, m * n);
        var s = new GemmShape(m, n, k, p);
        double[] xr = RoundRef(x, p), wr = RoundRef(w, p), dyr = RoundRef(dy, p);

        var y = h.Poisoned(m * n);
        h.B.MatMul(y, h.Up(x), h.Up(w), s);
        var want = new double[m * n]; Reference64.MatMul(want, xr, wr, m, n, k);
        CpuHarness.Close(y, want, "y");
        var exact = new double[m * n]; Reference64.MatMul(exact, x, w, m, n, k);
        double e = TestData.RelativeError(CpuBackend.Span(y), exact);
        Assert.InRange(e, Unit(p) / 64, 2 * Unit(p));

        var dx = h.Poisoned(m * k);
        h.B.MatMulBackwardInput(dx, h.Up(dy), h.Up(w), s, WriteMode.Overwrite);
        var dxWant = new double[m * k]; Reference64.MatMulBackwardInput(dxWant, dyr, wr, m, n, k);
        CpuHarness.Close(dx, dxWant, "dx");

        var dw0 = TestData.Uniform(seed + 3, n * k);
        var dw = h.Up(dw0);
        h.B.MatMulBackwardWeight(dw, h.Up(dy), h.Up(x), s, WriteMode.Accumulate);
        var dwWant = (double[])dw0.Clone(); Reference64.MatMulBackwardWeight(dwWant, dyr, xr, m, n, k);
        CpuHarness.Close(dw, dwWant, "dw");
    }

    [Theory]
    [InlineData(Precision.Bf16, 2, 70, 4, 2, 16, 21)]
    [InlineData(Precision.Fp16, 1, 33, 8, 1, 64, 22)]
    public void Attention_ForwardBackward_MatchFloat64OnRoundedOperands(Precision p, int batch, int T, int H, int Hkv, int hd, int seed)
    {
        using var h = new CpuHarness();
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        var q = TestData.Uniform(seed, qn, -2, 2); var k = TestData.Uniform(seed + 1, kn, -2, 2); var v = TestData.Uniform(seed + 2, kn);
        var shape = new AttnShape(batch, T, H, Hkv, hd, p);
        Tensor qt = h.Up(q), kt = h.Up(k), vt = h.Up(v);
        var o = h.Poisoned(qn); var lse = h.Poisoned(batch * H * T);
        h.B.Attention(o, lse, qt, kt, vt, shape);
        double[] qr = RoundRef(q, p), kr = RoundRef(k, p), vr = RoundRef(v, p);
        var or = new double[qn]; var lr = new double[batch * H * T];
        Reference64.Attention(or, lr, qr, kr, vr, batch, T, H, Hkv, hd);
        CpuHarness.Close(o, or, "output");
        CpuHarness.Close(lse, lr, "lse");
        var exact = new double[qn]; Reference64.Attention(exact, new double[batch * H * T], q, k, v, batch, T, H, Hkv, hd);
        Assert.InRange(TestData.RelativeError(CpuBackend.Span(o), exact), Unit(p) / 64, 8 * Unit(p));

        // The backward reads the float32 output the forward wrote; the reference recomputes it from the rounded operands.
        var dO = TestData.Uniform(seed + 3, qn);
        Tensor dq = h.Poisoned(qn), dk = h.Poisoned(kn), dv = h.Poisoned(kn);
        h.B.AttentionBackward(new(dq, dk, dv), h.Up(dO), new(qt, kt, vt, o, lse), shape, WriteMode.Overwrite);
        double[] dq0 = new double[qn], dk0 = new double[kn], dv0 = new double[kn];
        Reference64.AttentionBackward(dq0, dk0, dv0, RoundRef(dO, p), qr, kr, vr, batch, T, H, Hkv, hd);
        CpuHarness.Close(dq, dq0, "dq", 1e-4);
        CpuHarness.Close(dk, dk0, "dk", 1e-4);
        CpuHarness.Close(dv, dv0, "dv", 1e-4);
    }

    [Fact]
    public void Decode_RoundsQueryAndAppendedCacheRows()
    {
        const Precision p = Precision.Bf16;
        using var h = new CpuHarness();
        int batch = 2, past = 3, newTok = 2, cap = 8, H = 4, Hkv = 2, hd = 8;
        var shape = new DecodeShape(batch, newTok, past, cap, H, Hkv, hd, p);
        int cn = batch * cap * Hkv * hd, kn = batch * newTok * Hkv * hd, qn = batch * newTok * H * hd;
        // Cache rows before pastLen were appended earlier at the same precision: start from rounded values.
        var kc0 = RoundRef(TestData.Uniform(31, cn), p); var vc0 = RoundRef(TestData.Uniform(32, cn), p);
        var knew = TestData.Uniform(33, kn); var vnew = TestData.Uniform(34, kn); var q = TestData.Uniform(35, qn, -2, 2);
        Tensor kc = h.Up(kc0), vc = h.Up(vc0);
        h.B.KvCacheAppend(kc, vc, h.Up(knew), h.Up(vnew), shape);
        Reference64.KvCacheAppend(kc0, vc0, RoundRef(knew, p), RoundRef(vnew, p), batch, newTok, past, cap, Hkv, hd);
        CpuHarness.Close(kc, kc0, "kCache", 1e-12);
        CpuHarness.Close(vc, vc0, "vCache", 1e-12);
        var o = h.Poisoned(qn);
        h.B.AttentionDecode(o, h.Up(q), kc, vc, shape);
        var want = new double[qn];
        Reference64.AttentionDecode(want, RoundRef(q, p), kc0, vc0, batch, newTok, past, cap, H, Hkv, hd);
        CpuHarness.Close(o, want, "output");
    }

    [Fact]
    public void ReducedPrecision_OnABackendWithoutIt_IsRefusedByTheContract()
    {
        using var h = new CpuHarness();
        var t = h.Up(new double[16]);
        var limits = new BackendLimits(128);
        var ex = Assert.Throws<NotSupportedException>(() => OpContract.MatMul(t, t, t, new GemmShape(4, 4, 4, Precision.Bf16), WriteMode.Overwrite, limits));
        Assert.Contains("bf16", ex.Message);
        OpContract.MatMul(t, t, t, new GemmShape(4, 4, 4), WriteMode.Overwrite, limits);
    }
}

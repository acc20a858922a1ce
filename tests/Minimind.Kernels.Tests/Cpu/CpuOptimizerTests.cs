using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>SumOfSquares and AdamW against float64.</summary>
public class CpuOptimizerTests
{
    [Theory]
    [InlineData(1, 181)]
    [InlineData(65_537, 182)]
    [InlineData(300_007, 183)]
    public void SumOfSquares_MatchesFloat64(int n, int seed)
    {
        using var h = new CpuHarness();
        var g = TestData.Uniform(seed, n);
        double s = h.B.SumOfSquares(h.Up(g));
        double r = Reference64.SumOfSquares(TestData.ToFloat(g));
        Assert.True(Math.Abs(s - r) <= 1e-12 * r, $"{s} vs {r}");
    }

    [Theory]
    [InlineData(1, 0.0f, 1f, 191)]
    [InlineData(1001, 0.1f, 1f, 192)]
    [InlineData(70_001, 0.01f, 0.37f, 193)]
    public void AdamW_ThreeSteps_MatchFloat64(int n, float wd, float gradScale, int seed)
    {
        using var h = new CpuHarness();
        var p = TestData.Uniform(seed, n); var p0 = (double[])p.Clone();
        var m = new double[n]; var v = new double[n];
        Tensor pt = h.Up(p), mt = h.Up(m), vt = h.Up(v);
        for (int step = 1; step <= 3; step++)
        {
            var g = TestData.Uniform(seed + step, n, -2, 2);
            h.B.AdamW(pt, h.Up(g), mt, vt, 0.05f, 0.9f, 0.95f, 1e-8f, wd, step, gradScale);
            Reference64.AdamW(p, g, m, v, 0.05f, 0.9f, 0.95f, 1e-8f, wd, step, gradScale);
        }
        CpuHarness.Close(mt, m, "m");
        CpuHarness.Close(vt, v, "v");
        // compare the parameter change, so float rounding of p itself does not hide an update error
        var dp = CpuHarness.Get(pt).Select((x, i) => x - p0[i]).ToArray();
        var dr = p.Select((x, i) => x - p0[i]).ToArray();
        double e = TestData.RelativeError(dp, dr);
        Assert.True(e < 1e-5, $"update relative error {e:E3}");
    }

    [Fact]
    public void AdamW_FirstStep_IsSignStep()
    {
        // Hand-derived: at step 1, m̂ = g and v̂ = g², so without decay p moves by −lr·g/(|g|+eps) ≈ −lr·sign(g).
        using var h = new CpuHarness();
        var g = new[] { 0.5, -2.0, 1e-3 };
        var p = h.Up(new double[3]);
        h.B.AdamW(p, h.Up(g), h.B.Alloc(3), h.B.Alloc(3), 0.01f, 0.9f, 0.999f, 1e-8f, 0f, 1, 1f);
        var r = CpuHarness.Get(p);
        Assert.Equal(-0.01, r[0], 6); Assert.Equal(0.01, r[1], 6); Assert.Equal(-0.01, r[2], 6);
    }
}

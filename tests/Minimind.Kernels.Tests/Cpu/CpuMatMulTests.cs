using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>The three SGEMM layouts against float64, with sizes off every tile boundary (MR 6, NR 16, MC 96, KC 256, NC 256).</summary>
public class CpuMatMulTests
{
    [Theory]
    [InlineData(1, 1, 1, 11)]
    [InlineData(7, 13, 5, 12)]
    [InlineData(6, 16, 256, 13)]
    [InlineData(37, 45, 300, 14)]
    [InlineData(97, 257, 33, 15)]
    [InlineData(1, 300, 7, 16)]
    [InlineData(200, 3, 513, 17)]
    [InlineData(3, 40, 700, 18)]
    [InlineData(4, 17, 9, 19)]
    [InlineData(5, 17, 9, 20)]
    public void MatMul_MatchesFloat64(int m, int n, int k, int seed)
    {
        using var h = new CpuHarness();
        var x = TestData.Uniform(seed, m * k); var w = TestData.Uniform(seed + 1, n * k);
        var y = h.Poisoned(m * n);
        h.B.MatMul(y, h.Up(x), h.Up(w), new(m, n, k));
        var yr = new double[m * n];
        Reference64.MatMul(yr, x, w, m, n, k);
        CpuHarness.Close(y, yr, "y");

        // accumulate: y += x·wᵀ on top of a random y
        var y0 = TestData.Uniform(seed + 2, m * n);
        var ya = h.Up(y0);
        h.B.MatMul(ya, h.Up(x), h.Up(w), new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMul(y0, x, w, m, n, k, accumulate: true);
        CpuHarness.Close(ya, y0, "y (accumulate)");
    }

    [Theory]
    [InlineData(1, 1, 1, 21)]
    [InlineData(7, 13, 5, 22)]
    [InlineData(37, 45, 300, 23)]
    [InlineData(97, 257, 33, 24)]
    [InlineData(300, 20, 270, 25)]
    public void BackwardInput_AccumulatesFloat64(int m, int n, int k, int seed)
    {
        using var h = new CpuHarness();
        var dy = TestData.Uniform(seed, m * n); var w = TestData.Uniform(seed + 1, n * k); var dx0 = TestData.Uniform(seed + 2, m * k);
        var dx = h.Up(dx0);
        h.B.MatMulBackwardInput(dx, h.Up(dy), h.Up(w), new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMulBackwardInput(dx0, dy, w, m, n, k);
        CpuHarness.Close(dx, dx0, "dx");
    }

    [Theory]
    [InlineData(1, 1, 1, 31)]
    [InlineData(7, 13, 5, 32)]
    [InlineData(300, 45, 37, 33)]
    [InlineData(33, 97, 257, 34)]
    [InlineData(270, 20, 300, 35)]
    public void BackwardWeight_AccumulatesFloat64(int m, int n, int k, int seed)
    {
        using var h = new CpuHarness();
        var dy = TestData.Uniform(seed, m * n); var x = TestData.Uniform(seed + 1, m * k); var dw0 = TestData.Uniform(seed + 2, n * k);
        var dw = h.Up(dw0);
        h.B.MatMulBackwardWeight(dw, h.Up(dy), h.Up(x), new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMulBackwardWeight(dw0, dy, x, m, n, k);
        CpuHarness.Close(dw, dw0, "dw");
    }

    [Fact]
    public void ZeroK_OverwritesWithZeroOrLeavesAccumulator()
    {
        using var h = new CpuHarness();
        var y = h.Poisoned(6);
        h.B.MatMul(y, h.Up(new double[1]).Slice(0, 0), h.Up(new double[1]).Slice(0, 0), new(2, 3, 0));
        Assert.All(CpuHarness.Get(y), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ShortBuffer_ThrowsNamingTheArgument()
    {
        using var h = new CpuHarness();
        var ex = Assert.Throws<ArgumentException>(() => h.B.MatMul(h.B.Alloc(6), h.B.Alloc(5), h.B.Alloc(9), new(2, 3, 3)));
        Assert.Contains("x", ex.Message);
    }
}

using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>The three matmul layouts (simple and shared-memory tiled kernels) and the elementwise ops vs float64.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuMatMulTests(IlgpuFixture f)
{
    [Theory]
    [InlineData(false, 1, 1, 1, 1)]
    [InlineData(false, 5, 7, 9, 2)]
    [InlineData(true, 5, 7, 9, 3)]
    [InlineData(true, 13, 11, 17, 4)]   // crosses 8x8 tiles and 4-deep slices, ragged edges everywhere
    [InlineData(true, 1, 9, 3, 5)]
    [InlineData(false, 3, 4, 0, 6)]     // k = 0: y = 0
    [InlineData(true, 3, 4, 0, 7)]
    public void ThreeLayouts_MatchFloat64(bool tiled, int m, int n, int k, int seed)
    {
        var b = tiled ? f.Tiled : f.B;
        var x = TestData.Uniform(seed, m * k); var w = TestData.Uniform(seed + 1, n * k); var dy = TestData.Uniform(seed + 2, m * n);
        Tensor xt = b.Up(x), wt = b.Up(w);

        var y = b.Poisoned(m * n);
        b.MatMul(y, xt, wt, new(m, n, k));
        var yr = new double[m * n];
        Reference64.MatMul(yr, x, w, m, n, k);
        b.Close(y, yr, "y");

        var y0 = TestData.Uniform(seed + 3, m * n);
        var ya = b.Up(y0);
        b.MatMul(ya, xt, wt, new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMul(y0, x, w, m, n, k, accumulate: true);
        b.Close(ya, y0, "y accumulate");

        var dx0 = TestData.Uniform(seed + 4, m * k);
        var dx = b.Up(dx0);
        b.MatMulBackwardInput(dx, b.Up(dy), wt, new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMulBackwardInput(dx0, dy, w, m, n, k);
        b.Close(dx, dx0, "dx");

        var dw0 = TestData.Uniform(seed + 5, n * k);
        var dw = b.Up(dw0);
        b.MatMulBackwardWeight(dw, b.Up(dy), xt, new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMulBackwardWeight(dw0, dy, x, m, n, k);
        b.Close(dw, dw0, "dw");
    }

    [Fact]
    public void Elementwise_MatchFloat64()
    {
        var b = f.B;
        const int n = 37;
        var a = TestData.Uniform(1, n); var c = TestData.Uniform(2, n);
        var y = b.Poisoned(n);
        b.Add(y, b.Up(a), b.Up(c));
        var r = new double[n];
        Reference64.Add(r, a, c);
        b.Close(y, r, "Add");

        var yi = b.Up(a);
        b.AddInPlace(yi, b.Up(c));
        b.Close(yi, r, "AddInPlace");

        b.Scale(yi, -0.5f);
        Reference64.Scale(r, -0.5);
        b.Close(yi, r, "Scale");

        var z = b.Poisoned(n);
        b.Copy(z, yi);
        b.Close(z, r, "Copy");

        b.Fill(z, 2.5f);
        Assert.All(b.Get(z), v => Assert.Equal(2.5f, v));

        var self = b.Up(a);   // y aliases a
        b.Add(self, self, b.Up(c));
        Reference64.Add(r, a, c);
        b.Close(self, r, "Add aliased");
    }

    [Fact]
    public void SimpleAndTiledGemm_AreEachDeterministic()
    {
        foreach (var b in new[] { f.B, f.Tiled })
        {
            const int m = 9, n = 10, k = 11;
            var dy = b.Up(TestData.Uniform(7, m * n)); var x = b.Up(TestData.Uniform(8, m * k));
            float[] Run() { var dw = b.Alloc(n * k); b.MatMulBackwardWeight(dw, dy, x, new(m, n, k), WriteMode.Accumulate); return b.Get(dw); }
            IlgpuHarness.SameBits(Run(), Run(), "dW");
        }
    }

    [Fact]
    public void BadShapes_ThrowNamingOpAndArgument()
    {
        var b = f.B;
        var small = b.Alloc(5);
        var e = Assert.Throws<ArgumentException>(() => b.MatMul(small, b.Alloc(6), b.Alloc(6), new(2, 3, 3)));
        Assert.Contains("MatMul: y holds 5 elements, needs 6", e.Message);
        var g = Assert.Throws<ArgumentOutOfRangeException>(() => b.Attention(b.Alloc(64), b.Alloc(8), b.Alloc(64), b.Alloc(64), b.Alloc(64), new(1, 2, 3, 2, 8)));
        Assert.Contains("multiple of kvHeads", g.Message);
        using var cpu = new Minimind.Kernels.Cpu.CpuBackend(1);
        var x = Assert.Throws<ArgumentException>(() => b.Fill(cpu.Alloc(3), 1f));
        Assert.Contains("not an ILGPU backend float buffer", x.Message);
    }
}

using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>Elementwise ops, embedding, RMSNorm, RoPE and SwiGLU against float64.</summary>
public class CpuLayerTests
{
    [Theory]
    [InlineData(1, 81)]
    [InlineData(1000, 82)]
    [InlineData(300_001, 83)]
    public void Elementwise_MatchFloat64(int n, int seed)
    {
        using var h = new CpuHarness();
        var a = TestData.Uniform(seed, n); var b = TestData.Uniform(seed + 1, n);
        var y = h.Poisoned(n);
        h.B.Add(y, h.Up(a), h.Up(b));
        var yr = new double[n]; Reference64.Add(yr, a, b);
        CpuHarness.Close(y, yr, "Add");

        var ta = h.Up(a);
        h.B.Add(ta, ta, h.Up(b)); // y aliases a
        CpuHarness.Close(ta, yr, "Add aliased");

        var yi = h.Up(a);
        h.B.AddInPlace(yi, h.Up(b));
        CpuHarness.Close(yi, yr, "AddInPlace");

        h.B.Scale(yi, -0.375f);
        Reference64.Scale(yr, -0.375);
        CpuHarness.Close(yi, yr, "Scale");

        var f = h.Poisoned(n);
        h.B.Fill(f, 2.5f);
        Assert.All(CpuHarness.Get(f), v => Assert.Equal(2.5f, v));
        var c = h.Poisoned(n);
        h.B.Copy(c, h.Up(a));
        Assert.Equal(TestData.ToFloat(a), CpuHarness.Get(c));
    }

    [Theory]
    [InlineData(1, 1, 5, 91)]
    [InlineData(37, 13, 11, 92)]
    [InlineData(300, 70, 9, 93)]
    public void Embedding_ForwardAndBackward(int count, int dim, int vocab, int seed)
    {
        using var h = new CpuHarness();
        var table = TestData.Uniform(seed, vocab * dim); var ids = TestData.Ints(seed + 1, count, 0, vocab);
        var y = h.Poisoned(count * dim);
        h.B.Embedding(y, h.Up(ids), h.Up(table), new(count, dim));
        var yr = new double[count * dim]; Reference64.Embedding(yr, ids, table, count, dim);
        Assert.Equal(TestData.ToFloat(yr), CpuHarness.Get(y));

        var dy = TestData.Uniform(seed + 2, count * dim); var dt0 = TestData.Uniform(seed + 3, vocab * dim);
        var dt = h.Up(dt0);
        h.B.EmbeddingBackward(dt, h.Up(dy), h.Up(ids), new(count, dim));
        Reference64.EmbeddingBackward(dt0, dy, ids, count, dim);
        CpuHarness.Close(dt, dt0, "dTable");
    }

    [Fact]
    public void Embedding_BadId_ThrowsNamingIt()
    {
        using var h = new CpuHarness();
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => h.B.Embedding(h.B.Alloc(8), h.Up(new[] { 1, 4 }), h.B.Alloc(16), new(2, 4)));
        Assert.Contains("ids[1] = 4", ex.Message);
    }

    [Theory]
    [InlineData(1, 1, 101)]
    [InlineData(7, 33, 102)]
    [InlineData(65, 512, 103)]
    public void RmsNorm_ForwardAndBackward(int rows, int dim, int seed)
    {
        using var h = new CpuHarness();
        var x = TestData.Uniform(seed, rows * dim, -3, 3); var w = TestData.Uniform(seed + 1, dim, 0.5, 1.5);
        var y = h.Poisoned(rows * dim); var rstd = h.Poisoned(rows);
        Tensor xt = h.Up(x), wt = h.Up(w);
        h.B.RmsNorm(y, rstd, xt, wt, new(rows, dim), 1e-5f);
        var yr = new double[rows * dim]; var rr = new double[rows];
        Reference64.RmsNorm(yr, rr, x, w, rows, dim, 1e-5);
        CpuHarness.Close(y, yr, "y");
        CpuHarness.Close(rstd, rr, "rstd");

        var dy = TestData.Uniform(seed + 2, rows * dim); var dx0 = TestData.Uniform(seed + 3, rows * dim); var dw0 = TestData.Uniform(seed + 4, dim);
        Tensor dx = h.Up(dx0), dw = h.Up(dw0);
        h.B.RmsNormBackward(dx, dw, h.Up(dy), xt, wt, rstd, new(rows, dim), WriteMode.Accumulate);
        Reference64.RmsNormBackward(dx0, dw0, dy, x, w, rr, rows, dim);
        CpuHarness.Close(dx, dx0, "dx");
        CpuHarness.Close(dw, dw0, "dWeight");
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved, 1, 1, 1, 2, 0, 111)]
    [InlineData(RopeLayout.Interleaved, 2, 7, 3, 8, 5, 112)]
    [InlineData(RopeLayout.RotateHalf, 2, 7, 3, 8, 5, 113)]
    [InlineData(RopeLayout.RotateHalf, 1, 9, 2, 64, 0, 114)]
    public void Rope_ForwardBackward(RopeLayout layout, int batch, int T, int heads, int hd, int posOffset, int seed)
    {
        using var h = new CpuHarness();
        var (cos, sin) = Reference64.RopeTables(posOffset + T + 3, hd, 1e4);
        Tensor ct = h.Up(cos), st = h.Up(sin);
        var x = TestData.Uniform(seed, batch * T * heads * hd);
        var xt = h.Up(x);
        h.B.Rope(xt, ct, st, new(batch, T, heads, hd, posOffset, layout));
        var xr = (double[])x.Clone();
        Reference64.Rope(xr, TestData.ToDouble(TestData.ToFloat(cos)), TestData.ToDouble(TestData.ToFloat(sin)), batch, T, heads, hd, posOffset, layout);
        CpuHarness.Close(xt, xr, "rotated x");

        var d = TestData.Uniform(seed + 1, x.Length);
        var dt = h.Up(d);
        h.B.RopeBackward(dt, ct, st, new(batch, T, heads, hd, posOffset, layout));
        Reference64.RopeBackward(d, TestData.ToDouble(TestData.ToFloat(cos)), TestData.ToDouble(TestData.ToFloat(sin)), batch, T, heads, hd, posOffset, layout);
        CpuHarness.Close(dt, d, "dx (overwritten)");

        // The backward of a rotation is its inverse: applying it to the rotated x gives x back.
        h.B.RopeBackward(xt, ct, st, new(batch, T, heads, hd, posOffset, layout));
        CpuHarness.Close(xt, x, "inverse rotation", 1e-6);
    }

    [Theory]
    [InlineData(1, 121)]
    [InlineData(1001, 122)]
    [InlineData(40_000, 123)]
    public void SwiGlu_ForwardAndBackward(int n, int seed)
    {
        using var h = new CpuHarness();
        var g = TestData.Uniform(seed, n, -6, 6); var u = TestData.Uniform(seed + 1, n);
        var y = h.Poisoned(n);
        Tensor gt = h.Up(g), ut = h.Up(u);
        h.B.SwiGlu(y, gt, ut);
        var yr = new double[n]; Reference64.SwiGlu(yr, g, u);
        CpuHarness.Close(y, yr, "h");

        var dh = TestData.Uniform(seed + 2, n); var dg0 = TestData.Uniform(seed + 3, n); var du0 = TestData.Uniform(seed + 4, n);
        Tensor dg = h.Up(dg0), du = h.Up(du0);
        h.B.SwiGluBackward(dg, du, h.Up(dh), gt, ut, WriteMode.Accumulate);
        Reference64.SwiGluBackward(dg0, du0, dh, g, u);
        CpuHarness.Close(dg, dg0, "dGate");
        CpuHarness.Close(du, du0, "dUp");
    }
}

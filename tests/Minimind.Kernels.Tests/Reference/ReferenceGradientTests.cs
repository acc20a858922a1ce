using Minimind.Kernels;

namespace Minimind.Kernels.Tests.Reference;

/// <summary>
/// Every backward of <see cref="Reference64"/> against central finite differences of its own forward,
/// in float64 on tiny sizes. The loss is Σ r·output for a random r, so the backward gets dy = r.
/// Together with the backend-vs-reference tests this pins every backend gradient to the forward math.
/// </summary>
public class ReferenceGradientTests
{
    private const double Tol = 1e-6;

    private static void Near(double[] analytic, double[] numeric, string what)
    {
        double e = TestData.RelativeError(analytic, numeric);
        Assert.True(e < Tol, $"{what}: analytic vs finite-difference relative error {e:E3}");
    }

    [Fact]
    public void MatMul()
    {
        int m = 3, n = 4, k = 5;
        var x = TestData.Uniform(1, m * k); var w = TestData.Uniform(2, n * k); var r = TestData.Uniform(3, m * n);
        double L() { var y = new double[m * n]; Reference64.MatMul(y, x, w, m, n, k); return TestData.Dot(r, y); }
        var dx = new double[m * k]; var dw = new double[n * k];
        Reference64.MatMulBackwardInput(dx, r, w, m, n, k);
        Reference64.MatMulBackwardWeight(dw, r, x, m, n, k);
        Near(dx, TestData.NumericGradient(x, L), "dx");
        Near(dw, TestData.NumericGradient(w, L), "dw");
    }

    [Fact]
    public void Embedding()
    {
        int count = 6, dim = 3, vocab = 4;
        var table = TestData.Uniform(4, vocab * dim); var ids = new[] { 0, 2, 2, 3, 0, 2 }; var r = TestData.Uniform(5, count * dim);
        double L() { var y = new double[count * dim]; Reference64.Embedding(y, ids, table, count, dim); return TestData.Dot(r, y); }
        var dt = new double[vocab * dim];
        Reference64.EmbeddingBackward(dt, r, ids, count, dim);
        Near(dt, TestData.NumericGradient(table, L), "dTable");
    }

    [Fact]
    public void RmsNorm()
    {
        int rows = 3, dim = 5;
        var x = TestData.Uniform(6, rows * dim); var w = TestData.Uniform(7, dim, 0.5, 1.5); var r = TestData.Uniform(8, rows * dim);
        double L() { var y = new double[rows * dim]; Reference64.RmsNorm(y, new double[rows], x, w, rows, dim, 1e-5); return TestData.Dot(r, y); }
        var rstd = new double[rows];
        Reference64.RmsNorm(new double[rows * dim], rstd, x, w, rows, dim, 1e-5);
        var dx = new double[x.Length]; var dw = new double[dim];
        Reference64.RmsNormBackward(dx, dw, r, x, w, rstd, rows, dim);
        Near(dx, TestData.NumericGradient(x, L), "dx");
        Near(dw, TestData.NumericGradient(w, L), "dWeight");
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved)]
    [InlineData(RopeLayout.RotateHalf)]
    public void Rope(RopeLayout layout)
    {
        int batch = 2, T = 3, heads = 2, hd = 4, off = 2;
        var (cos, sin) = Reference64.RopeTables(off + T, hd, 1e4);
        var x = TestData.Uniform(9, batch * T * heads * hd); var r = TestData.Uniform(10, x.Length);
        double L() { var y = (double[])x.Clone(); Reference64.Rope(y, cos, sin, batch, T, heads, hd, off, layout); return TestData.Dot(r, y); }
        var dx = (double[])r.Clone();
        Reference64.RopeBackward(dx, cos, sin, batch, T, heads, hd, off, layout);
        Near(dx, TestData.NumericGradient(x, L), "dx");
    }

    [Theory]
    [InlineData(1, 4, 2, 2, 3)]
    [InlineData(2, 5, 4, 1, 2)]
    [InlineData(1, 3, 4, 2, 2)]
    public void Attention(int batch, int T, int H, int Hkv, int hd)
    {
        var q = TestData.Uniform(11, batch * T * H * hd, -2, 2); var k = TestData.Uniform(12, batch * T * Hkv * hd, -2, 2);
        var v = TestData.Uniform(13, k.Length); var r = TestData.Uniform(14, q.Length);
        double L() { var o = new double[q.Length]; Reference64.Attention(o, new double[batch * H * T], q, k, v, batch, T, H, Hkv, hd); return TestData.Dot(r, o); }
        var dq = new double[q.Length]; var dk = new double[k.Length]; var dv = new double[v.Length];
        Reference64.AttentionBackward(dq, dk, dv, r, q, k, v, batch, T, H, Hkv, hd);
        Near(dq, TestData.NumericGradient(q, L), "dq");
        Near(dk, TestData.NumericGradient(k, L), "dk");
        Near(dv, TestData.NumericGradient(v, L), "dv");
    }

    [Fact]
    public void SwiGlu()
    {
        int n = 7;
        var g = TestData.Uniform(15, n, -4, 4); var u = TestData.Uniform(16, n); var r = TestData.Uniform(17, n);
        double L() { var y = new double[n]; Reference64.SwiGlu(y, g, u); return TestData.Dot(r, y); }
        var dg = new double[n]; var du = new double[n];
        Reference64.SwiGluBackward(dg, du, r, g, u);
        Near(dg, TestData.NumericGradient(g, L), "dGate");
        Near(du, TestData.NumericGradient(u, L), "dUp");
    }

    [Fact]
    public void CrossEntropy()
    {
        int rows = 4, vocab = 5;
        var x = TestData.Uniform(18, rows * vocab, -3, 3); var t = new[] { 1, -100, 4, 0 }; var scale = TestData.Uniform(19, rows, 0.5, 2);
        double L() { var l = new double[rows]; Reference64.CrossEntropy(l, x, t, rows, vocab, -100); return TestData.Dot(scale, l); }
        var d = new double[x.Length];
        Reference64.CrossEntropyBackward(d, x, t, scale, rows, vocab, -100);
        Near(d, TestData.NumericGradient(x, L), "dLogits");
    }

    [Fact]
    public void Softmax()
    {
        int rows = 3, cols = 4;
        var x = TestData.Uniform(20, rows * cols, -2, 2); var r = TestData.Uniform(21, x.Length);
        double L() { var y = new double[x.Length]; Reference64.Softmax(y, x, rows, cols); return TestData.Dot(r, y); }
        var y0 = new double[x.Length]; Reference64.Softmax(y0, x, rows, cols);
        var dx = new double[x.Length];
        Reference64.SoftmaxBackward(dx, r, y0, rows, cols);
        Near(dx, TestData.NumericGradient(x, L), "dx");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TopK(bool normalize)
    {
        int rows = 3, cols = 5, k = 2;
        // well-separated values so the selection does not change under the finite-difference step
        var p = new[] { 0.1, 0.5, 0.2, 0.9, 0.3, 0.7, 0.1, 0.4, 0.2, 0.6, 0.3, 0.35, 0.8, 0.05, 0.5 };
        var r = TestData.Uniform(22, rows * k);
        double L() { var w = new double[rows * k]; Reference64.TopK(w, new int[rows * k], p, rows, cols, k, normalize); return TestData.Dot(r, w); }
        var idx = new int[rows * k];
        Reference64.TopK(new double[rows * k], idx, p, rows, cols, k, normalize);
        var dp = new double[p.Length];
        Reference64.TopKBackward(dp, r, p, idx, rows, cols, k, normalize);
        Near(dp, TestData.NumericGradient(p, L), "dProbs");
    }

    [Fact]
    public void MoeGatherAndCombine()
    {
        int tokens = 4, k = 2, dim = 3, experts = 3;
        var indices = new[] { 0, 2, 1, 2, 2, 0, 1, 0 };
        var perm = new int[tokens * k]; var inv = new int[tokens * k];
        Reference64.MoeRoute(perm, inv, indices, tokens * k, experts);
        var x = TestData.Uniform(23, tokens * dim); var r1 = TestData.Uniform(24, tokens * k * dim);
        double Lg() { var xs = new double[r1.Length]; Reference64.MoeGather(xs, x, perm, tokens, k, dim); return TestData.Dot(r1, xs); }
        var dx = new double[x.Length];
        Reference64.MoeGatherBackward(dx, r1, inv, tokens, k, dim);
        Near(dx, TestData.NumericGradient(x, Lg), "gather dx");

        var eo = TestData.Uniform(25, tokens * k * dim); var w = TestData.Uniform(26, tokens * k); var r2 = TestData.Uniform(27, tokens * dim);
        double Lc() { var y = new double[tokens * dim]; Reference64.MoeCombine(y, eo, w, inv, tokens, k, dim); return TestData.Dot(r2, y); }
        var deo = new double[eo.Length]; var dw = new double[w.Length];
        Reference64.MoeCombineBackward(deo, dw, r2, eo, w, inv, tokens, k, dim);
        Near(deo, TestData.NumericGradient(eo, Lc), "combine dExpertOut");
        Near(dw, TestData.NumericGradient(w, Lc), "combine dWeights");
    }

    [Theory]
    [InlineData(AuxLossKind.SequenceLevel)]
    [InlineData(AuxLossKind.TokenLevel)]
    [InlineData(AuxLossKind.MiniMind3)]
    public void MoeAuxLoss(AuxLossKind kind)
    {
        int batch = 2, T = 3, E = 4, k = 2;
        var p = TestData.Uniform(28, batch * T * E, 0, 1);
        var idx = TestData.Ints(29, batch * T * k, 0, E);
        double L() => Reference64.MoeAuxLoss(null, p, idx, batch, T, E, k, 0.1, kind, 1);
        var dp = new double[p.Length];
        Reference64.MoeAuxLoss(dp, p, idx, batch, T, E, k, 0.1, kind, 2.5);
        var num = TestData.NumericGradient(p, L);
        for (int i = 0; i < num.Length; i++) num[i] *= 2.5;
        Near(dp, num, "dProbs");
    }
}

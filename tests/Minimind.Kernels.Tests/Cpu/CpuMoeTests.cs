using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>MoE routing ops against float64: softmax, top-k (ties), routing, gather/combine and the aux losses.</summary>
public class CpuMoeTests
{
    [Theory]
    [InlineData(1, 1, 141)]
    [InlineData(17, 4, 142)]
    [InlineData(300, 9, 143)]
    public void Softmax_ForwardAndBackward(int rows, int cols, int seed)
    {
        using var h = new CpuHarness();
        var x = TestData.Uniform(seed, rows * cols, -5, 5);
        var y = h.Poisoned(rows * cols);
        h.B.Softmax(y, h.Up(x), new(rows, cols));
        var yr = new double[x.Length]; Reference64.Softmax(yr, x, rows, cols);
        CpuHarness.Close(y, yr, "y");

        var dy = TestData.Uniform(seed + 1, x.Length); var dx0 = TestData.Uniform(seed + 2, x.Length);
        var dx = h.Up(dx0);
        h.B.SoftmaxBackward(dx, h.Up(dy), y, new(rows, cols), WriteMode.Accumulate);
        Reference64.SoftmaxBackward(dx0, dy, yr, rows, cols);
        CpuHarness.Close(dx, dx0, "dx");
    }

    [Theory]
    [InlineData(1, 1, 1, true, 151)]
    [InlineData(13, 4, 2, true, 152)]
    [InlineData(13, 4, 2, false, 153)]
    [InlineData(40, 8, 3, true, 154)]
    [InlineData(40, 64, 8, false, 155)]
    public void TopK_ForwardAndBackward(int rows, int cols, int k, bool normalize, int seed)
    {
        using var h = new CpuHarness();
        var p = TestData.Uniform(seed, rows * cols, 0, 1);
        // Ties: row 0 is constant, every third row repeats its first value at a later column.
        for (int c = 0; c < cols; c++) p[c] = 0.25;
        for (int r = 3; r < rows; r += 3) p[r * cols + cols - 1] = p[r * cols];
        var w = h.Poisoned(rows * k); var idx = h.PoisonedInt(rows * k);
        var pt = h.Up(p);
        h.B.TopK(w, idx, pt, new(rows, cols, k), normalize);
        var wr = new double[rows * k]; var ir = new int[rows * k];
        Reference64.TopK(wr, ir, p, rows, cols, k, normalize);
        Assert.Equal(ir, CpuHarness.Get(idx));
        CpuHarness.Close(w, wr, "weights");

        var dw = TestData.Uniform(seed + 1, rows * k); var dp0 = TestData.Uniform(seed + 2, rows * cols);
        var dp = h.Up(dp0);
        h.B.TopKBackward(dp, h.Up(dw), pt, idx, new(rows, cols, k), normalize, WriteMode.Accumulate);
        Reference64.TopKBackward(dp0, dw, p, ir, rows, cols, k, normalize);
        CpuHarness.Close(dp, dp0, "dProbs");
    }

    [Fact]
    public void TopK_Ties_LowerIndexFirst()
    {
        // Hand-derived: [0.1, 0.3, 0.3, 0.2, 0.3] -> 1, 2, 4 then 3.
        using var h = new CpuHarness();
        var idx = h.PoisonedInt(4);
        h.B.TopK(h.Poisoned(4), idx, h.Up(new[] { 0.1, 0.3, 0.3, 0.2, 0.3 }), new(1, 5, 4), false);
        Assert.Equal(new[] { 1, 2, 4, 3 }, CpuHarness.Get(idx));
    }

    [Theory]
    [InlineData(1, 1, 1, 161)]
    [InlineData(50, 2, 4, 162)]
    [InlineData(333, 3, 8, 163)]
    public void RouteGatherCombine_MatchFloat64(int tokens, int k, int experts, int seed)
    {
        using var h = new CpuHarness();
        int n = tokens * k, dim = 7;
        var indices = TestData.Ints(seed, n, 0, experts);
        var perm = h.PoisonedInt(n); var inv = h.PoisonedInt(n);
        int[] counts = h.B.MoeRoute(perm, inv, h.Up(indices), new(n, experts));
        var pr = new int[n]; var ivr = new int[n];
        var cr = Reference64.MoeRoute(pr, ivr, indices, n, experts);
        Assert.Equal(cr, counts);
        Assert.Equal(pr, CpuHarness.Get(perm));
        Assert.Equal(ivr, CpuHarness.Get(inv));

        var x = TestData.Uniform(seed + 1, tokens * dim);
        var xs = h.Poisoned(n * dim);
        h.B.MoeGather(xs, h.Up(x), perm, new(tokens, k, dim));
        var xsr = new double[n * dim]; Reference64.MoeGather(xsr, x, pr, tokens, k, dim);
        CpuHarness.Close(xs, xsr, "xs");

        var dxs = TestData.Uniform(seed + 2, n * dim); var dx0 = TestData.Uniform(seed + 3, tokens * dim);
        var dx = h.Up(dx0);
        h.B.MoeGatherBackward(dx, h.Up(dxs), inv, new(tokens, k, dim), WriteMode.Accumulate);
        Reference64.MoeGatherBackward(dx0, dxs, ivr, tokens, k, dim);
        CpuHarness.Close(dx, dx0, "dx");

        var eo = TestData.Uniform(seed + 4, n * dim); var wts = TestData.Uniform(seed + 5, n, 0, 1); var y0 = TestData.Uniform(seed + 6, tokens * dim);
        var y = h.Up(y0);
        Tensor eot = h.Up(eo), wt = h.Up(wts);
        h.B.MoeCombine(y, eot, wt, inv, new(tokens, k, dim), WriteMode.Accumulate);
        Reference64.MoeCombine(y0, eo, wts, ivr, tokens, k, dim);
        CpuHarness.Close(y, y0, "y (+=)");

        var dy = TestData.Uniform(seed + 7, tokens * dim); var deo0 = TestData.Uniform(seed + 8, n * dim); var dw0 = TestData.Uniform(seed + 9, n);
        Tensor deo = h.Up(deo0), dw = h.Up(dw0);
        h.B.MoeCombineBackward(deo, dw, h.Up(dy), eot, wt, inv, new(tokens, k, dim), WriteMode.Accumulate);
        Reference64.MoeCombineBackward(deo0, dw0, dy, eo, wts, ivr, tokens, k, dim);
        CpuHarness.Close(deo, deo0, "dExpertOut");
        CpuHarness.Close(dw, dw0, "dWeights");
    }

    [Theory]
    [InlineData(AuxLossKind.SequenceLevel, 3, 7, 4, 2, 171)]
    [InlineData(AuxLossKind.TokenLevel, 3, 7, 4, 2, 172)]
    [InlineData(AuxLossKind.MiniMind3, 3, 7, 4, 2, 173)]
    [InlineData(AuxLossKind.SequenceLevel, 1, 1, 8, 3, 174)]
    [InlineData(AuxLossKind.MiniMind3, 2, 50, 8, 1, 175)]
    [InlineData(AuxLossKind.None, 2, 5, 4, 2, 176)]
    public void AuxLoss_MatchesMiniMindFormula(AuxLossKind kind, int batch, int T, int E, int k, int seed)
    {
        using var h = new CpuHarness();
        int n = batch * T;
        var logits = TestData.Uniform(seed, n * E, -2, 2);
        var probs = new double[n * E]; Reference64.Softmax(probs, logits, n, E);
        probs = TestData.ToDouble(TestData.ToFloat(probs));
        var w = new double[n * k]; var idx = new int[n * k];
        Reference64.TopK(w, idx, probs, n, E, k, true);
        var d0 = TestData.Uniform(seed + 1, n * E);
        var d = h.Up(d0);
        Tensor pt = h.Up(probs); IntTensor it = h.Up(idx);
        float loss = h.B.MoeAuxLoss(d, pt, it, new(batch, T, E, k), 0.1f, kind, 0.7f);
        double lr = Reference64.MoeAuxLoss(d0, probs, idx, batch, T, E, k, 0.1f, kind, 0.7f);
        Assert.True(Math.Abs(loss - lr) <= 1e-6 * Math.Max(1, Math.Abs(lr)), $"loss {loss} vs {lr}");
        CpuHarness.Close(d, d0, "dProbs");
        // loss only, no gradient buffer
        float loss2 = h.B.MoeAuxLoss(default, pt, it, new(batch, T, E, k), 0.1f, kind, 0.7f);
        Assert.Equal(loss, loss2);
    }

    [Theory]
    [InlineData(AuxLossKind.SequenceLevel, 1.0)]
    [InlineData(AuxLossKind.TokenLevel, 1.0)]
    [InlineData(AuxLossKind.MiniMind3, 2.0)]
    public void AuxLoss_BalancedUniformRouting_IsAlphaTimes(AuxLossKind kind, double factor)
    {
        // Hand-derived: probs 1/E and perfectly balanced picks give alpha (SequenceLevel, TokenLevel) and k·alpha (MiniMind3).
        using var h = new CpuHarness();
        int batch = 2, T = 4, E = 4, k = 2;
        var probs = Enumerable.Repeat(0.25, batch * T * E).ToArray();
        var idx = new int[batch * T * k];
        for (int i = 0; i < idx.Length; i++) idx[i] = i % E;
        float loss = h.B.MoeAuxLoss(default, h.Up(probs), h.Up(idx), new(batch, T, E, k), 0.01f, kind, 1f);
        Assert.Equal(0.01 * factor, loss, 7);
    }
}

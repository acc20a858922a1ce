using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>Cross-entropy, softmax, top-k, MoE routing/gather/combine, aux losses, SumOfSquares and AdamW vs float64
/// (integer outputs exactly; routing also against the CPU backend).</summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuLossMoeTests(IlgpuFixture f)
{
    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(6, 37, false)]
    [InlineData(5, 19, true)]   // dLogits aliases logits
    public void CrossEntropy_ForwardBackward(int rows, int vocab, bool alias)
    {
        var b = f.B;
        const int ignore = -100;
        var logits = TestData.Uniform(rows + vocab, rows * vocab, -4, 4);
        var targets = TestData.Ints(3, rows, 0, vocab);
        if (rows > 2) targets[1] = ignore;
        var scale = TestData.Uniform(4, rows, 0.1, 1);
        var lt = b.Up(logits); var tt = b.Up(targets);
        var loss = b.Poisoned(rows);
        b.CrossEntropy(loss, lt, tt, new(rows, vocab), ignore);
        var lr = new double[rows];
        Reference64.CrossEntropy(lr, logits, targets, rows, vocab, ignore);
        b.Close(loss, lr, "losses");

        var d = alias ? lt : b.Poisoned(rows * vocab);
        b.CrossEntropyBackward(d, lt, tt, b.Up(scale), new(rows, vocab), ignore);
        var dr = new double[rows * vocab];
        Reference64.CrossEntropyBackward(dr, logits, targets, scale, rows, vocab, ignore);
        b.Close(d, dr, "dLogits");
    }

    [Fact]
    public void CrossEntropy_TargetOutsideVocab_GivesNaN()
    {
        var b = f.B;
        var loss = b.Poisoned(1);
        b.CrossEntropy(loss, b.Up(new[] { 0.5, 1.5, -1.0 }), b.Up(new[] { 3 }), new(1, 3), -100);
        Assert.True(float.IsNaN(b.Get(loss)[0]));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(9, 5)]
    public void Softmax_ForwardBackward(int rows, int cols)
    {
        var b = f.B;
        var x = TestData.Uniform(rows * 31 + cols, rows * cols, -5, 5);
        var y = b.Poisoned(rows * cols);
        b.Softmax(y, b.Up(x), new(rows, cols));
        var yr = new double[x.Length]; Reference64.Softmax(yr, x, rows, cols);
        b.Close(y, yr, "y");
        var dy = TestData.Uniform(2, x.Length); var dx0 = TestData.Uniform(3, x.Length);
        var dx = b.Up(dx0);
        b.SoftmaxBackward(dx, b.Up(dy), y, new(rows, cols), WriteMode.Accumulate);
        Reference64.SoftmaxBackward(dx0, dy, yr, rows, cols);
        b.Close(dx, dx0, "dx");
    }

    [Theory]
    [InlineData(1, 1, 1, true)]
    [InlineData(13, 4, 2, true)]
    [InlineData(13, 8, 3, false)]
    public void TopK_ForwardBackward_TiesToLowerIndex(int rows, int cols, int k, bool normalize)
    {
        var b = f.B;
        var p = TestData.Uniform(rows * cols + k, rows * cols, 0, 1);
        for (int c = 0; c < cols; c++) p[c] = 0.25;                                  // a constant row
        for (int r = 3; r < rows; r += 3) p[r * cols + cols - 1] = p[r * cols];      // repeated values
        var w = b.Poisoned(rows * k); var idx = b.PoisonedInt(rows * k);
        var pt = b.Up(p);
        b.TopK(w, idx, pt, new(rows, cols, k), normalize);
        var wr = new double[rows * k]; var ir = new int[rows * k];
        Reference64.TopK(wr, ir, p, rows, cols, k, normalize);
        Assert.Equal(ir, b.Get(idx));
        b.Close(w, wr, "weights");

        var dw = TestData.Uniform(5, rows * k); var dp0 = TestData.Uniform(6, rows * cols);
        var dp = b.Up(dp0);
        b.TopKBackward(dp, b.Up(dw), pt, idx, new(rows, cols, k), normalize, WriteMode.Accumulate);
        Reference64.TopKBackward(dp0, dw, p, ir, rows, cols, k, normalize);
        b.Close(dp, dp0, "dProbs");
    }

    [Fact]
    public void TopK_HandDerivedTies()
    {
        var b = f.B;
        var idx = b.PoisonedInt(4);
        b.TopK(b.Poisoned(4), idx, b.Up(new[] { 0.1, 0.3, 0.3, 0.2, 0.3 }), new(1, 5, 4), false);
        Assert.Equal(new[] { 1, 2, 4, 3 }, b.Get(idx));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(21, 2, 4)]
    [InlineData(37, 3, 8)]
    public void RouteGatherCombine_MatchFloat64(int tokens, int k, int experts)
    {
        var b = f.B;
        int n = tokens * k, dim = 5;
        var indices = TestData.Ints(tokens + experts, n, 0, experts);
        var perm = b.PoisonedInt(n); var inv = b.PoisonedInt(n);
        var it = b.Up(indices);
        int[] counts = b.MoeRoute(perm, inv, it, new(n, experts));
        var pr = new int[n]; var ivr = new int[n];
        Assert.Equal(Reference64.MoeRoute(pr, ivr, indices, n, experts), counts);
        Assert.Equal(pr, b.Get(perm));
        Assert.Equal(ivr, b.Get(inv));
        using (var cpu = new CpuBackend(1))
        {
            var cp = cpu.AllocInt(n); var ci = cpu.AllocInt(n); var cidx = cpu.AllocInt(n);
            cpu.Upload(cidx, indices);
            Assert.Equal(cpu.MoeRoute(cp, ci, cidx, new(n, experts)), counts);
            Assert.Equal(CpuBackend.Span(cp).ToArray(), b.Get(perm));
        }

        var x = TestData.Uniform(1, tokens * dim);
        var xs = b.Poisoned(n * dim);
        b.MoeGather(xs, b.Up(x), perm, new(tokens, k, dim));
        var xsr = new double[n * dim];
        Reference64.MoeGather(xsr, x, pr, tokens, k, dim);
        b.Close(xs, xsr, "xs");

        var dxs = TestData.Uniform(2, n * dim); var dx0 = TestData.Uniform(3, tokens * dim);
        var dx = b.Up(dx0);
        b.MoeGatherBackward(dx, b.Up(dxs), inv, new(tokens, k, dim), WriteMode.Accumulate);
        Reference64.MoeGatherBackward(dx0, dxs, ivr, tokens, k, dim);
        b.Close(dx, dx0, "dx");

        var eo = TestData.Uniform(4, n * dim); var wts = TestData.Uniform(5, n, 0, 1); var y0 = TestData.Uniform(6, tokens * dim);
        Tensor eot = b.Up(eo), wt = b.Up(wts), y = b.Up(y0);
        b.MoeCombine(y, eot, wt, inv, new(tokens, k, dim), WriteMode.Accumulate);
        Reference64.MoeCombine(y0, eo, wts, ivr, tokens, k, dim);
        b.Close(y, y0, "y");

        var dy = TestData.Uniform(7, tokens * dim);
        var de0 = TestData.Uniform(8, n * dim); var dw0 = TestData.Uniform(9, n);
        Tensor de = b.Up(de0), dw = b.Up(dw0);
        b.MoeCombineBackward(de, dw, b.Up(dy), eot, wt, inv, new(tokens, k, dim), WriteMode.Accumulate);
        Reference64.MoeCombineBackward(de0, dw0, dy, eo, wts, ivr, tokens, k, dim);
        b.Close(de, de0, "dExpertOut");
        b.Close(dw, dw0, "dWeights");
    }

    [Fact]
    public void MoeRoute_IndexOutsideExperts_Throws()
    {
        var b = f.B;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => b.MoeRoute(b.AllocInt(3), b.AllocInt(3), b.Up(new[] { 0, 4, 1 }), new(3, 4)));
        Assert.Contains("outside [0, 4)", e.Message);
    }

    [Theory]
    [InlineData(AuxLossKind.SequenceLevel)]
    [InlineData(AuxLossKind.TokenLevel)]
    [InlineData(AuxLossKind.MiniMind3)]
    [InlineData(AuxLossKind.None)]
    public void MoeAuxLoss_AllKinds(AuxLossKind kind)
    {
        var b = f.B;
        const int B = 2, T = 5, E = 4, k = 2;
        var logits = TestData.Uniform(1, B * T * E, -2, 2);
        var probs = new double[logits.Length];
        Reference64.Softmax(probs, logits, B * T, E);
        probs = TestData.ToDouble(TestData.ToFloat(probs));
        var w = new double[B * T * k]; var idx = new int[B * T * k];
        Reference64.TopK(w, idx, probs, B * T, E, k, false);
        var dp0 = TestData.Uniform(2, probs.Length);
        var dp = b.Up(dp0);
        float loss = b.MoeAuxLoss(dp, b.Up(probs), b.Up(idx), new(B, T, E, k), 0.1f, kind, 0.5f);
        double lr = Reference64.MoeAuxLoss(dp0, probs, idx, B, T, E, k, 0.1, kind, 0.5);
        Assert.True(Math.Abs(loss - lr) <= 1e-6 * Math.Max(1, Math.Abs(lr)), $"loss {loss} vs {lr}");
        b.Close(dp, dp0, "dProbs");
        Assert.Equal(loss, b.MoeAuxLoss(default, b.Up(probs), b.Up(idx), new(B, T, E, k), 0.1f, kind, 0.5f));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(1001)]
    public void SumOfSquares_Float64(int n)
    {
        var b = f.B;
        var g = TestData.ToFloat(TestData.Uniform(n, n, -3, 3));
        var t = b.Alloc(n);
        b.Upload(t, g);
        double s = b.SumOfSquares(t);
        double r = Reference64.SumOfSquares(g);
        Assert.True(Math.Abs(s - r) <= 1e-12 * r, $"{s} vs {r}");
        Assert.Equal(BitConverter.DoubleToInt64Bits(s), BitConverter.DoubleToInt64Bits(b.SumOfSquares(t)));
    }

    [Fact]
    public void AdamW_MatchesFloat64_AndCpuBits()
    {
        var b = f.B;
        const int n = 23;
        var p = TestData.Uniform(1, n); var g = TestData.Uniform(2, n); var m = TestData.Uniform(3, n, -0.1, 0.1); var v = TestData.Uniform(4, n, 0, 0.01);
        Tensor pt = b.Up(p), gt = b.Up(g), mt = b.Up(m), vt = b.Up(v);
        b.AdamW(pt, gt, mt, vt, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 7, 0.5f);
        using var cpu = new CpuBackend(1);
        Tensor Cpu(double[] a) { var t = cpu.Alloc(n); cpu.Upload(t, TestData.ToFloat(a)); return t; }
        Tensor cp = Cpu(p), cm = Cpu(m), cv = Cpu(v);
        cpu.AdamW(cp, Cpu(g), cm, cv, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 7, 0.5f);
        Reference64.AdamW(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.1, 7, 0.5);
        b.Close(pt, p, "param", 1e-6);
        b.Close(mt, m, "m", 1e-6);
        b.Close(vt, v, "v", 1e-6);
        IlgpuHarness.SameBits(b.Get(pt), CpuBackend.Span(cp).ToArray(), "param vs CPU backend");
    }
}

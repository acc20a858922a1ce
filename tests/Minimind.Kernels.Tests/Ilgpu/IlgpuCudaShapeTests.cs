using Minimind.Kernels.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>A simulated device with 256 threads per group, running the kernels with CUDA's exact launch shapes.</summary>
public sealed class CudaShapeFixture : IDisposable
{
    public readonly IlgpuBackend B = IlgpuBackend.CreateCpuSimulator(warp: 32, warps: 8, cudaShapes: true);
    public void Dispose() => B.Dispose();
}

/// <summary>
/// The configurations only CUDA uses — 64×64×16 GEMM tiles with 256 threads, 32-row attention blocks, 256-thread
/// row reductions, 64-assignment routing chunks — run on the simulator at sizes that cross every tile edge, vs
/// float64. Without a GPU this is the closest check of the CUDA launch logic (the PTX gate checks compilation).
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuCudaShapeTests(CudaShapeFixture f) : IClassFixture<CudaShapeFixture>
{
    [Fact]
    public void Gemm_64x64Tiles_ThreeLayouts()
    {
        var b = f.B;
        Assert.True(b.CudaShapes);
        const int m = 70, n = 67, k = 40;
        var x = TestData.Uniform(1, m * k); var w = TestData.Uniform(2, n * k); var dy = TestData.Uniform(3, m * n);
        Tensor xt = b.Up(x), wt = b.Up(w), dyt = b.Up(dy);
        var y = b.Poisoned(m * n);
        b.MatMul(y, xt, wt, new(m, n, k));
        var yr = new double[m * n];
        Reference64.MatMul(yr, x, w, m, n, k);
        b.Close(y, yr, "y");
        var dx0 = TestData.Uniform(4, m * k); var dx = b.Up(dx0);
        b.MatMulBackwardInput(dx, dyt, wt, new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMulBackwardInput(dx0, dy, w, m, n, k);
        b.Close(dx, dx0, "dx");
        var dw0 = TestData.Uniform(5, n * k); var dw = b.Up(dw0);
        b.MatMulBackwardWeight(dw, dyt, xt, new(m, n, k), WriteMode.Accumulate);
        Reference64.MatMulBackwardWeight(dw0, dy, x, m, n, k);
        b.Close(dw, dw0, "dw");
    }

    [Fact]
    public void Attention_32RowBlocks_ForwardBackward()
    {
        var b = f.B;
        const int B = 1, T = 40, H = 4, Hkv = 2, hd = 8;
        int qn = B * T * H * hd, kn = B * T * Hkv * hd;
        var q = TestData.Uniform(11, qn, -2, 2); var k = TestData.Uniform(12, kn, -2, 2); var v = TestData.Uniform(13, kn);
        Tensor qt = b.Up(q), kt = b.Up(k), vt = b.Up(v);
        var o = b.Poisoned(qn); var lse = b.Poisoned(B * H * T);
        b.Attention(o, lse, qt, kt, vt, new(B, T, H, Hkv, hd));
        var or = new double[qn]; var lr = new double[B * H * T];
        Reference64.Attention(or, lr, q, k, v, B, T, H, Hkv, hd);
        b.Close(o, or, "output");
        b.Close(lse, lr, "lse");
        var dO = TestData.Uniform(14, qn);
        var dq0 = new double[qn]; var dk0 = new double[kn]; var dv0 = new double[kn];
        Tensor dq = b.Alloc(qn), dk = b.Alloc(kn), dv = b.Alloc(kn);
        b.AttentionBackward(new(dq, dk, dv), b.Up(dO), new(qt, kt, vt, o, lse), new(B, T, H, Hkv, hd), WriteMode.Accumulate);
        Reference64.AttentionBackward(dq0, dk0, dv0, dO, q, k, v, B, T, H, Hkv, hd);
        b.Close(dq, dq0, "dq");
        b.Close(dk, dk0, "dk");
        b.Close(dv, dv0, "dv");
    }

    [Fact]
    public void RowKernels_256ThreadGroups()
    {
        var b = f.B;
        const int rows = 3, dim = 300, vocab = 300;
        var x = TestData.Uniform(21, rows * dim, -2, 2); var w = TestData.Uniform(22, dim, 0.5, 1.5);
        var y = b.Poisoned(rows * dim); var rstd = b.Poisoned(rows);
        Tensor xt = b.Up(x), wt = b.Up(w);
        b.RmsNorm(y, rstd, xt, wt, new(rows, dim), 1e-6f);
        var yr = new double[rows * dim]; var rr = new double[rows];
        Reference64.RmsNorm(yr, rr, x, w, rows, dim, 1e-6);
        b.Close(y, yr, "rmsnorm y");
        var dy = TestData.Uniform(23, rows * dim); var dx0 = new double[rows * dim]; var dw0 = new double[dim];
        Tensor dx = b.Alloc(rows * dim), dw = b.Alloc(dim);
        b.RmsNormBackward(dx, dw, b.Up(dy), xt, wt, rstd, new(rows, dim), WriteMode.Accumulate);
        Reference64.RmsNormBackward(dx0, dw0, dy, x, w, rr, rows, dim);
        b.Close(dx, dx0, "rmsnorm dx");
        b.Close(dw, dw0, "rmsnorm dWeight");

        var logits = TestData.Uniform(24, rows * vocab, -4, 4);
        var targets = new[] { 7, -100, 299 };
        var scale = new[] { 0.5, 1.0, 0.25 };
        var lt = b.Up(logits); var tt = b.Up(targets);
        var loss = b.Poisoned(rows);
        b.CrossEntropy(loss, lt, tt, new(rows, vocab), -100);
        var lr = new double[rows];
        Reference64.CrossEntropy(lr, logits, targets, rows, vocab, -100);
        b.Close(loss, lr, "ce losses");
        var d = b.Poisoned(rows * vocab);
        b.CrossEntropyBackward(d, lt, tt, b.Up(scale), new(rows, vocab), -100);
        var dr = new double[rows * vocab];
        Reference64.CrossEntropyBackward(dr, logits, targets, scale, rows, vocab, -100);
        b.Close(d, dr, "ce dLogits");
    }

    [Fact]
    public void Route_64Chunks_And_SumOfSquares_64Parts()
    {
        var b = f.B;
        const int n = 150, experts = 5;
        var idx = TestData.Ints(31, n, 0, experts);
        var perm = b.PoisonedInt(n); var inv = b.PoisonedInt(n);
        var counts = b.MoeRoute(perm, inv, b.Up(idx), new(n, experts));
        var pr = new int[n]; var ir = new int[n];
        Assert.Equal(Reference64.MoeRoute(pr, ir, idx, n, experts), counts);
        Assert.Equal(pr, b.Get(perm));
        Assert.Equal(ir, b.Get(inv));

        var g = TestData.ToFloat(TestData.Uniform(32, 1000, -3, 3));
        var gt = b.Alloc(g.Length); b.Upload(gt, g);
        double s = b.SumOfSquares(gt), r = Reference64.SumOfSquares(g);
        Assert.True(Math.Abs(s - r) <= 1e-12 * r, $"{s} vs {r}");
    }
}

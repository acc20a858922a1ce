using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>Embedding, RMSNorm, RoPE and SwiGLU, forward and backward, vs float64 (and the CPU backend's bits
/// where both compute the same float32 expression).</summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuLayerTests(IlgpuFixture f)
{
    [Theory]
    [InlineData(1, 3, 5)]
    [InlineData(11, 7, 9)]
    public void Embedding_ForwardBackward(int count, int dim, int vocab)
    {
        var b = f.B;
        var ids = TestData.Ints(count, count, 0, vocab);
        if (count > 3) { ids[0] = ids[count - 1]; ids[1] = ids[count - 1]; }   // repeated ids sum in order
        var table = TestData.Uniform(3, vocab * dim);
        var y = b.Poisoned(count * dim);
        var idt = b.Up(ids);
        b.Embedding(y, idt, b.Up(table), new(count, dim));
        var yr = new double[count * dim];
        Reference64.Embedding(yr, ids, table, count, dim);
        b.Close(y, yr, "y");

        var dy = TestData.Uniform(4, count * dim);
        var dt0 = TestData.Uniform(5, vocab * dim);
        var dtab = b.Up(dt0);
        b.EmbeddingBackward(dtab, b.Up(dy), idt, new(count, dim));
        var first = b.Get(dtab);
        Reference64.EmbeddingBackward(dt0, dy, ids, count, dim);
        b.Close(dtab, dt0, "dTable");

        // Same float32 sums, same order as the CPU backend: identical bits.
        using var cpu = new CpuBackend(1);
        var cd = cpu.Alloc(vocab * dim);
        cpu.Upload(cd, TestData.ToFloat(TestData.Uniform(5, vocab * dim)));
        var cids = cpu.AllocInt(count); cpu.Upload(cids, ids);
        var cdy = cpu.Alloc(count * dim); cpu.Upload(cdy, TestData.ToFloat(dy));
        cpu.EmbeddingBackward(cd, cdy, cids, new(count, dim));
        IlgpuHarness.SameBits(first, CpuBackend.Span(cd).ToArray(), "dTable vs CPU backend");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 13)]
    [InlineData(7, 64)]
    public void RmsNorm_ForwardBackward(int rows, int dim)
    {
        var b = f.B;
        var x = TestData.Uniform(rows, rows * dim, -2, 2); var w = TestData.Uniform(dim, dim, 0.5, 1.5);
        var y = b.Poisoned(rows * dim); var rstd = b.Poisoned(rows);
        Tensor xt = b.Up(x), wt = b.Up(w);
        b.RmsNorm(y, rstd, xt, wt, new(rows, dim), 1e-5f);
        var yr = new double[rows * dim]; var rr = new double[rows];
        Reference64.RmsNorm(yr, rr, x, w, rows, dim, 1e-5);
        b.Close(y, yr, "y");
        b.Close(rstd, rr, "rstd");

        var dy = TestData.Uniform(9, rows * dim);
        var dx0 = TestData.Uniform(10, rows * dim); var dw0 = TestData.Uniform(11, dim);
        Tensor dx = b.Up(dx0), dw = b.Up(dw0), dyt = b.Up(dy);
        b.RmsNormBackward(dx, dw, dyt, xt, wt, rstd, new(rows, dim), WriteMode.Accumulate);
        Reference64.RmsNormBackward(dx0, dw0, dy, x, w, rr, rows, dim);
        b.Close(dx, dx0, "dx");
        b.Close(dw, dw0, "dWeight");

        float[] Again() { var d = b.Alloc(dim); var dxx = b.Alloc(rows * dim); b.RmsNormBackward(dxx, d, dyt, xt, wt, rstd, new(rows, dim), WriteMode.Accumulate); return b.Get(d); }
        IlgpuHarness.SameBits(Again(), Again(), "dWeight");
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved, 0)]
    [InlineData(RopeLayout.RotateHalf, 3)]
    public void Rope_ForwardBackward(RopeLayout layout, int posOffset)
    {
        var b = f.B;
        const int B = 2, T = 5, H = 3, hd = 8;
        var (cos, sin) = Reference64.RopeTables(posOffset + T, hd, 10000);
        var x = TestData.Uniform(1, B * T * H * hd);
        Tensor ct = b.Up(cos), st = b.Up(sin);
        var xt = b.Up(x);
        b.Rope(xt, ct, st, new(B, T, H, hd, posOffset, layout));
        var xr = (double[])x.Clone();
        Reference64.Rope(xr, cos, sin, B, T, H, hd, posOffset, layout);
        b.Close(xt, xr, "rope");

        var dx = TestData.Uniform(2, B * T * H * hd);
        var dxt = b.Up(dx);
        b.RopeBackward(dxt, ct, st, new(B, T, H, hd, posOffset, layout));
        Reference64.RopeBackward(dx, cos, sin, B, T, H, hd, posOffset, layout);
        b.Close(dxt, dx, "rope backward");
    }

    [Fact]
    public void SwiGlu_ForwardBackward()
    {
        var b = f.B;
        const int n = 29;
        var g = TestData.Uniform(1, n, -6, 6); var u = TestData.Uniform(2, n);
        var h = b.Poisoned(n);
        Tensor gt = b.Up(g), ut = b.Up(u);
        b.SwiGlu(h, gt, ut);
        var hr = new double[n];
        Reference64.SwiGlu(hr, g, u);
        b.Close(h, hr, "h");

        var dh = TestData.Uniform(3, n);
        var dg0 = TestData.Uniform(4, n); var du0 = TestData.Uniform(5, n);
        Tensor dg = b.Up(dg0), du = b.Up(du0);
        b.SwiGluBackward(dg, du, b.Up(dh), gt, ut, WriteMode.Accumulate);
        Reference64.SwiGluBackward(dg0, du0, dh, g, u);
        b.Close(dg, dg0, "dGate");
        b.Close(du, du0, "dUp");
    }
}

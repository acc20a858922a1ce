using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Cpu;
using Minimind.Kernels.Tests.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Contract;

/// <summary>
/// The fused ops on the CPU backend and the ILGPU simulator: <see cref="IBackend.AddRmsNorm"/>, <see cref="IBackend.RmsNormRope"/>,
/// <see cref="IBackend.RopeRmsNormBackward"/> and <see cref="IBackend.CrossEntropyForwardBackward"/> vs the float64 reference (the unfused reference ops composed), and
/// bit for bit vs the unfused ops on the same backend (the contract promises the same bits), aliasing included.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class FusedOpTests(IlgpuFixture f)
{
    // Tolerances: the CPU harness's (float32 SIMD, float64 exp sums) and the ILGPU harness's (float32 tree sums).
    private IEnumerable<(IBackend B, double Tol, string Name)> Backends(CpuBackend cpu)
    {
        yield return (cpu, CpuHarness.Tol, "cpu");
        yield return (f.B, IlgpuHarness.Tol, "ilgpu");
    }

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(5, 13, false)]
    [InlineData(7, 64, true)]   // h aliases x (the residual stream updated in place)
    public void AddRmsNorm_MatchesReference_AndAddThenRmsNormBitForBit(int rows, int dim, bool alias)
    {
        using var cpu = new CpuBackend(2);
        int n = rows * dim;
        var x = TestData.Uniform(rows + dim, n, -2, 2); var br = TestData.Uniform(rows + dim + 1, n, -2, 2);
        var w = TestData.Uniform(dim, dim, 0.5, 1.5);
        var hr = new double[n];
        for (int i = 0; i < n; i++) hr[i] = x[i] + br[i];
        var yr = new double[n]; var rr = new double[rows];
        Reference64.RmsNorm(yr, rr, hr, w, rows, dim, 1e-5);
        foreach (var (b, tol, name) in Backends(cpu))
        {
            Tensor xt = b.Up(x), bt = b.Up(br), wt = b.Up(w);
            var h = alias ? xt : b.Poisoned(n); var y = b.Poisoned(n); var rstd = b.Poisoned(rows);
            b.AddRmsNorm(h, y, rstd, xt, bt, wt, new(rows, dim), 1e-5f);
            b.Close(h, hr, $"{name} h", tol);
            b.Close(y, yr, $"{name} y", tol);
            b.Close(rstd, rr, $"{name} rstd", tol);

            var h2 = b.Poisoned(n); var y2 = b.Poisoned(n); var rstd2 = b.Poisoned(rows);
            b.Add(h2, b.Up(x), bt);
            b.RmsNorm(y2, rstd2, h2, wt, new(rows, dim), 1e-5f);
            IlgpuHarness.SameBits(b.Get(h), b.Get(h2), $"{name} h vs Add");
            IlgpuHarness.SameBits(b.Get(y), b.Get(y2), $"{name} y vs Add + RmsNorm");
            IlgpuHarness.SameBits(b.Get(rstd), b.Get(rstd2), $"{name} rstd vs Add + RmsNorm");
        }
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved, 1, 1, 1, 2, 0)]
    [InlineData(RopeLayout.RotateHalf, 2, 5, 3, 8, 3)]   // minimind-3's layout, a decode-style position offset
    [InlineData(RopeLayout.Interleaved, 1, 3, 2, 16, 1)]
    public void RmsNormRope_MatchesReference_AndRmsNormThenRopeBitForBit(RopeLayout layout, int batch, int T, int heads, int hd, int pos)
    {
        using var cpu = new CpuBackend(2);
        int rows = batch * T * heads, n = rows * hd;
        var x = TestData.Uniform(n + 1, n, -3, 3); var w = TestData.Uniform(hd, hd, 0.5, 1.5);
        var (cos, sin) = Reference64.RopeTables(pos + T, hd, 1e6);
        var yr = new double[n]; var rr = new double[rows];
        Reference64.RmsNorm(yr, rr, x, w, rows, hd, 1e-6);
        Reference64.Rope(yr, cos, sin, batch, T, heads, hd, pos, layout);
        RopeShape s = new(batch, T, heads, hd, pos, layout);
        foreach (var (b, tol, name) in Backends(cpu))
        {
            Tensor xt = b.Up(x), wt = b.Up(w), ct = b.Up(cos), st = b.Up(sin);
            var y = b.Poisoned(n); var rstd = b.Poisoned(rows);
            b.RmsNormRope(y, rstd, xt, wt, ct, st, s, 1e-6f);
            b.Close(y, yr, $"{name} y", tol);
            b.Close(rstd, rr, $"{name} rstd", tol);

            var y2 = b.Poisoned(n); var rstd2 = b.Poisoned(rows);
            b.RmsNorm(y2, rstd2, xt, wt, new(rows, hd), 1e-6f);
            b.Rope(y2, ct, st, s);
            IlgpuHarness.SameBits(b.Get(y), b.Get(y2), $"{name} y vs RmsNorm + Rope");
            IlgpuHarness.SameBits(b.Get(rstd), b.Get(rstd2), $"{name} rstd vs RmsNorm");
        }
    }

    [Theory]
    [InlineData(RopeLayout.Interleaved, 1, 1, 1, 2, WriteMode.Overwrite)]
    [InlineData(RopeLayout.RotateHalf, 2, 5, 3, 8, WriteMode.Accumulate)]
    [InlineData(RopeLayout.RotateHalf, 1, 3, 2, 16, WriteMode.Overwrite)]
    public void RopeRmsNormBackward_MatchesReference_AndRopeBackwardThenRmsNormBackwardBitForBit(RopeLayout layout, int batch, int T, int heads,
        int hd, WriteMode mode)
    {
        using var cpu = new CpuBackend(2);
        int rows = batch * T * heads, n = rows * hd;
        var x = TestData.Uniform(n + 2, n, -3, 3); var w = TestData.Uniform(hd + 1, hd, 0.5, 1.5);
        var dy = TestData.Uniform(n + 3, n);
        var dx0 = mode == WriteMode.Accumulate ? TestData.Uniform(n + 4, n) : new double[n];
        var dw0 = TestData.Uniform(hd + 5, hd);
        var (cos, sin) = Reference64.RopeTables(T, hd, 1e6);
        var yr = new double[n]; var rr = new double[rows];
        Reference64.RmsNorm(yr, rr, x, w, rows, hd, 1e-6);
        var dyr = (double[])dy.Clone(); var dxr = (double[])dx0.Clone(); var dwr = (double[])dw0.Clone();
        Reference64.RopeBackward(dyr, cos, sin, batch, T, heads, hd, 0, layout);
        Reference64.RmsNormBackward(dxr, dwr, dyr, x, w, rr, rows, hd);
        RopeShape s = new(batch, T, heads, hd, 0, layout);
        foreach (var (b, tol, name) in Backends(cpu))
        {
            Tensor xt = b.Up(x), wt = b.Up(w), ct = b.Up(cos), st = b.Up(sin);
            var rstd = b.Alloc(rows);
            b.RmsNorm(b.Alloc(n), rstd, xt, wt, new(rows, hd), 1e-6f);
            Tensor dyt = b.Up(dy), dx = mode == WriteMode.Accumulate ? b.Up(dx0) : b.Poisoned(n), dw = b.Up(dw0);
            b.RopeRmsNormBackward(new(dx, dw), dyt, new(xt, wt, rstd), ct, st, s, mode);
            b.Close(dyt, dyr, $"{name} dy rotated back", tol);
            b.Close(dx, dxr, $"{name} dx", tol);
            b.Close(dw, dwr, $"{name} dWeight", tol);

            Tensor dy2 = b.Up(dy), dx2 = mode == WriteMode.Accumulate ? b.Up(dx0) : b.Poisoned(n), dw2 = b.Up(dw0);
            b.RopeBackward(dy2, ct, st, s);
            b.RmsNormBackward(dx2, dw2, dy2, xt, wt, rstd, new(rows, hd), mode);
            IlgpuHarness.SameBits(b.Get(dx), b.Get(dx2), $"{name} dx vs RopeBackward + RmsNormBackward");
            IlgpuHarness.SameBits(b.Get(dw), b.Get(dw2), $"{name} dWeight vs RopeBackward + RmsNormBackward");
        }
    }

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(6, 37, false)]
    [InlineData(7, 19, true)]   // dLogits aliases logits, as the model runs it
    public void CrossEntropyForwardBackward_MatchesReference_AndTheTwoOpsBitForBit(int rows, int vocab, bool alias)
    {
        using var cpu = new CpuBackend(2);
        const int ignore = -100;
        var logits = TestData.Uniform(rows * vocab + 1, rows * vocab, -6, 6);
        var targets = TestData.Ints(rows + 2, rows, 0, vocab);
        if (rows > 2) { targets[1] = ignore; targets[rows - 1] = vocab - 1; }
        var scale = TestData.Uniform(rows + 3, rows, 0.1, 2);
        var lr = new double[rows]; var dr = new double[rows * vocab];
        Reference64.CrossEntropy(lr, logits, targets, rows, vocab, ignore);
        Reference64.CrossEntropyBackward(dr, logits, targets, scale, rows, vocab, ignore);
        foreach (var (b, tol, name) in Backends(cpu))
        {
            var lt = b.Up(logits); var tt = b.Up(targets); var st = b.Up(scale);
            var loss = b.Poisoned(rows);
            var d = alias ? lt : b.Poisoned(rows * vocab);
            b.CrossEntropyForwardBackward(loss, d, lt, tt, st, new(rows, vocab), ignore);
            b.Close(loss, lr, $"{name} losses", tol);
            b.Close(d, dr, $"{name} dLogits", tol);

            var lt2 = b.Up(logits); var loss2 = b.Poisoned(rows); var d2 = b.Poisoned(rows * vocab);
            b.CrossEntropy(loss2, lt2, tt, new(rows, vocab), ignore);
            b.CrossEntropyBackward(d2, lt2, tt, st, new(rows, vocab), ignore);
            IlgpuHarness.SameBits(b.Get(loss), b.Get(loss2), $"{name} losses vs CrossEntropy");
            IlgpuHarness.SameBits(b.Get(d), b.Get(d2), $"{name} dLogits vs CrossEntropyBackward");
        }
    }

    [Fact]
    public void CrossEntropyForwardBackward_TargetOutsideVocab_ThrowsOnCpu_NaNOnDevice()
    {
        using var cpu = new CpuBackend(1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            cpu.CrossEntropyForwardBackward(cpu.Alloc(2), cpu.Alloc(8), cpu.Alloc(8), cpu.Up(new[] { 1, 4 }), cpu.Alloc(2), new(2, 4), -100));
        Assert.Contains("CrossEntropyForwardBackward: targets[1] = 4", ex.Message);
        var b = f.B;
        var loss = b.Poisoned(1);
        b.CrossEntropyForwardBackward(loss, b.Poisoned(3), b.Up(new[] { 0.5, 1.5, -1.0 }), b.Up(new[] { 3 }), b.Up(new[] { 1.0 }), new(1, 3), -100);
        Assert.True(float.IsNaN(b.Get(loss)[0]));
    }
}

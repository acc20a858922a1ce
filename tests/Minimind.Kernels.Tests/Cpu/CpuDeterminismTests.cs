using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>The backend promises identical bits for repeated runs AND for any thread count.</summary>
public class CpuDeterminismTests
{
    // Runs the same op sequence on a fresh backend with the given thread count and returns every output's bits.
    private static (List<float[]> Outputs, double SumSq) RunAll(int threads)
    {
        using var h = new CpuHarness(threads);
        var outs = new List<float[]>();
        int m = 130, n = 270, k = 300;
        Tensor x = h.Up(TestData.Uniform(1, m * k)), w = h.Up(TestData.Uniform(2, n * k)), dy = h.Up(TestData.Uniform(3, m * n));
        var y = h.B.Alloc(m * n); h.B.MatMul(y, x, w, new(m, n, k)); outs.Add(CpuHarness.Get(y));
        var dx = h.B.Alloc(m * k); h.B.MatMulBackwardInput(dx, dy, w, new(m, n, k), WriteMode.Accumulate); outs.Add(CpuHarness.Get(dx));
        var dw = h.B.Alloc(n * k); h.B.MatMulBackwardWeight(dw, dy, x, new(m, n, k), WriteMode.Accumulate); outs.Add(CpuHarness.Get(dw));

        int B = 2, T = 70, H = 4, Hkv = 2, hd = 16;
        Tensor q = h.Up(TestData.Uniform(4, B * T * H * hd)), kk = h.Up(TestData.Uniform(5, B * T * Hkv * hd)), v = h.Up(TestData.Uniform(6, B * T * Hkv * hd));
        var o = h.B.Alloc(B * T * H * hd); var lse = h.B.Alloc(B * H * T);
        h.B.Attention(o, lse, q, kk, v, new(B, T, H, Hkv, hd)); outs.Add(CpuHarness.Get(o)); outs.Add(CpuHarness.Get(lse));
        var dq = h.B.Alloc(q.Length); var dk = h.B.Alloc(kk.Length); var dv = h.B.Alloc(v.Length);
        h.B.AttentionBackward(new(dq, dk, dv), h.Up(TestData.Uniform(7, (int)q.Length)), new(q, kk, v, o, lse), new(B, T, H, Hkv, hd), WriteMode.Accumulate);
        outs.Add(CpuHarness.Get(dq)); outs.Add(CpuHarness.Get(dk)); outs.Add(CpuHarness.Get(dv));

        int rows = 100, dim = 96;
        Tensor xr = h.Up(TestData.Uniform(8, rows * dim)), wr = h.Up(TestData.Uniform(9, dim));
        var yr = h.B.Alloc(rows * dim); var rs = h.B.Alloc(rows);
        h.B.RmsNorm(yr, rs, xr, wr, new(rows, dim), 1e-5f);
        var dxr = h.B.Alloc(rows * dim); var dwr = h.B.Alloc(dim);
        h.B.RmsNormBackward(dxr, dwr, h.Up(TestData.Uniform(10, rows * dim)), xr, wr, rs, new(rows, dim), WriteMode.Accumulate);
        outs.Add(CpuHarness.Get(yr)); outs.Add(CpuHarness.Get(dxr)); outs.Add(CpuHarness.Get(dwr));

        var dt = h.B.Alloc(11 * dim);
        h.B.EmbeddingBackward(dt, h.Up(TestData.Uniform(11, rows * dim)), h.Up(TestData.Ints(12, rows, 0, 11)), new(rows, dim));
        outs.Add(CpuHarness.Get(dt));

        var g = h.Up(TestData.Uniform(13, 400_000));
        double s1 = h.B.SumOfSquares(g), s2 = h.B.SumOfSquares(g);
        Assert.Equal(BitConverter.DoubleToInt64Bits(s1), BitConverter.DoubleToInt64Bits(s2));
        return (outs, s1);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(2, 4)]
    public void SameBits_AcrossRunsAndThreadCounts(int threadsA, int threadsB)
    {
        var (a, sa) = RunAll(threadsA);
        var (b, sb) = RunAll(threadsB);
        Assert.Equal(BitConverter.DoubleToInt64Bits(sa), BitConverter.DoubleToInt64Bits(sb));
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++)
        {
            var ia = a[i].Select(BitConverter.SingleToInt32Bits).ToArray();
            var ib = b[i].Select(BitConverter.SingleToInt32Bits).ToArray();
            Assert.True(ia.SequenceEqual(ib), $"output #{i} differs between {threadsA} and {threadsB} threads");
        }
    }

    [Fact]
    public void Constructor_DefaultsToProcessorCount()
    {
        using var b = new CpuBackend();
        Assert.Equal(Environment.ProcessorCount, b.Threads);
        Assert.Equal("cpu", b.Name);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CpuBackend(-1));
    }
}

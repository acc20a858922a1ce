using System.Runtime.InteropServices;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>The blocked (SGEMM micro-kernel) attention at training sizes: long and odd sequence lengths, every GQA ratio
/// MiniMind uses, real head sizes, against full-matrix float64 attention; and the same bits on 1, 2 and 3 threads.</summary>
public class CpuBlockedAttentionTests
{
    [Theory]
    [InlineData(1, 1, 2, 1, 16, 101)]      // one row, ratio 2
    [InlineData(2, 7, 8, 8, 64, 102)]      // odd T inside one block, ratio 1
    [InlineData(1, 49, 8, 2, 128, 103)]    // one row past a block, ratio 4
    [InlineData(1, 257, 4, 2, 96, 104)]    // odd T over six blocks, head size 96 (not a multiple of 16·2)
    [InlineData(1, 257, 8, 1, 128, 105)]   // ratio 8, head size 128
    [InlineData(1, 1025, 4, 1, 64, 106)]   // ratio 4, T = 1025
    [InlineData(1, 1025, 8, 1, 16, 107)]   // ratio 8, head size 16
    [InlineData(1, 2048, 2, 1, 64, 108)]   // T = 2048
    [InlineData(1, 96, 2, 2, 20, 109)]     // head size off the 8- and 16-lane grids, T two full blocks
    [InlineData(1, 1025, 8, 2, 96, 110, WriteMode.Overwrite)]  // overwrite mode at length
    [InlineData(2, 257, 8, 4, 128, 111, WriteMode.Overwrite)]
    public void ForwardAndBackward_MatchFloat64(int batch, int T, int H, int Hkv, int hd, int seed, WriteMode mode = WriteMode.Accumulate)
    {
        using var h = new CpuHarness();
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        var q = TestData.Uniform(seed, qn, -2, 2); var k = TestData.Uniform(seed + 1, kn, -2, 2); var v = TestData.Uniform(seed + 2, kn);
        var o = h.Poisoned(qn); var lse = h.Poisoned(batch * H * T);
        Tensor qt = h.Up(q), kt = h.Up(k), vt = h.Up(v);
        h.B.Attention(o, lse, qt, kt, vt, new(batch, T, H, Hkv, hd));
        var or = new double[qn]; var lr = new double[batch * H * T];
        Reference64.Attention(or, lr, q, k, v, batch, T, H, Hkv, hd);
        CpuHarness.Close(o, or, "output");
        CpuHarness.Close(lse, lr, "lse");

        // Accumulate adds onto random gradients; Overwrite must replace NaN-poisoned ones (reference from zero).
        var dO = TestData.Uniform(seed + 3, qn);
        bool acc = mode == WriteMode.Accumulate;
        double[] dq0 = acc ? TestData.Uniform(seed + 4, qn) : new double[qn], dk0 = acc ? TestData.Uniform(seed + 5, kn) : new double[kn];
        double[] dv0 = acc ? TestData.Uniform(seed + 6, kn) : new double[kn];
        Tensor dq = acc ? h.Up(dq0) : h.Poisoned(qn), dk = acc ? h.Up(dk0) : h.Poisoned(kn), dv = acc ? h.Up(dv0) : h.Poisoned(kn);
        h.B.AttentionBackward(dq, dk, dv, h.Up(dO), qt, kt, vt, o, lse, new(batch, T, H, Hkv, hd), mode);
        Reference64.AttentionBackward(dq0, dk0, dv0, dO, q, k, v, batch, T, H, Hkv, hd);
        CpuHarness.Close(dq, dq0, "dq");
        CpuHarness.Close(dk, dk0, "dk");
        CpuHarness.Close(dv, dv0, "dv");
    }

    private static List<float[]> Run(int threads, int batch, int T, int H, int Hkv, int hd)
    {
        using var h = new CpuHarness(threads);
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        Tensor q = h.Up(TestData.Uniform(201, qn, -2, 2)), k = h.Up(TestData.Uniform(202, kn, -2, 2)), v = h.Up(TestData.Uniform(203, kn));
        var o = h.Poisoned(qn); var lse = h.Poisoned(batch * H * T);
        var shape = new AttnShape(batch, T, H, Hkv, hd);
        h.B.Attention(o, lse, q, k, v, shape);
        Tensor dq = h.Up(TestData.Uniform(204, qn)), dk = h.Up(TestData.Uniform(205, kn)), dv = h.Up(TestData.Uniform(206, kn));
        h.B.AttentionBackward(dq, dk, dv, h.Up(TestData.Uniform(207, qn)), q, k, v, o, lse, shape, WriteMode.Accumulate);
        return new() { CpuHarness.Get(o), CpuHarness.Get(lse), CpuHarness.Get(dq), CpuHarness.Get(dk), CpuHarness.Get(dv) };
    }

    [Theory]
    [InlineData(2, 101, 8, 2, 64)]
    [InlineData(1, 150, 4, 4, 96)]
    [InlineData(3, 13, 8, 1, 16)]
    public void SameBits_On1_2_3Threads(int batch, int T, int H, int Hkv, int hd)
    {
        var one = Run(1, batch, T, H, Hkv, hd);
        foreach (int threads in new[] { 2, 3 })
        {
            var other = Run(threads, batch, T, H, Hkv, hd);
            string[] names = { "output", "lse", "dq", "dk", "dv" };
            for (int i = 0; i < one.Count; i++)
                Assert.True(MemoryMarshal.AsBytes(one[i].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other[i].AsSpan())), $"{names[i]} differs between 1 and {threads} threads");
        }
    }
}

using System.Runtime.InteropServices;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>The blocked (SGEMM micro-kernel) attention gives the same bits on 1, 2 and 3 threads (its float64 comparison at
/// training sizes is in <see cref="CpuAttentionTests"/>, one test body for every case).</summary>
public class CpuBlockedAttentionTests
{
    private static List<float[]> Run(int threads, int batch, int T, int H, int Hkv, int hd)
    {
        using var h = new CpuHarness(threads);
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        Tensor q = h.Up(TestData.Uniform(201, qn, -2, 2)), k = h.Up(TestData.Uniform(202, kn, -2, 2)), v = h.Up(TestData.Uniform(203, kn));
        var o = h.Poisoned(qn); var lse = h.Poisoned(batch * H * T);
        var shape = new AttnShape(batch, T, H, Hkv, hd);
        h.B.Attention(o, lse, q, k, v, shape);
        Tensor dq = h.Up(TestData.Uniform(204, qn)), dk = h.Up(TestData.Uniform(205, kn)), dv = h.Up(TestData.Uniform(206, kn));
        h.B.AttentionBackward(new(dq, dk, dv), h.Up(TestData.Uniform(207, qn)), new(q, k, v, o, lse), shape, WriteMode.Accumulate);
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

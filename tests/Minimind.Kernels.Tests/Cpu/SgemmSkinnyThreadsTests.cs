using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// A decode step's matmuls (one row times every weight: the skinny path) use every thread: at the MiniMind sizes each
/// one-row product against a layer's weight starts a parallel region of two chunks on two threads, from packed-per-call
/// and from kept panels, and gives the one-thread result bit for bit. The skinny path once asked 204–512 panels a chunk
/// at M = 1 and ran every decode matmul on one thread (fp32 decode 45 tokens/s instead of 67 on a 2-core Zen 3).
/// </summary>
public class SgemmSkinnyThreadsTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;

    // N outputs × K inputs of minimind3's (dim 768) and minimind-v1's (dim 512) weights: q/o, k/v, gate/up, down, lm_head.
    public static TheoryData<int, int> DecodeShapes => new()
    {
        { 768, 768 }, { 384, 768 }, { 2432, 768 }, { 768, 2432 }, { 6400, 768 },
        { 512, 512 }, { 1408, 512 }, { 512, 1408 },
    };

    [Theory]
    [MemberData(nameof(DecodeShapes))]
    public void OneRowTimesAWeight_RunsOnBothThreads_SameBitsAsOneThread(int n, int k)
    {
        float[] x = TestData.ToFloat(TestData.Uniform(n + k, k)), w = TestData.ToFloat(TestData.Uniform(n * k, n * k));
        var one = new WorkPartition(1);
        var two = new WorkPartition(2);
        foreach (var isa in Paths)
            foreach (var pr in new[] { Precision.Fp32, Precision.Bf16 })
                foreach (bool kept in new[] { false, true })
                {
                    // y = x·Wᵀ as the forward runs it: A row-major (1×K), B(p, j) = w[j·K + p].
                    var panels = kept ? Sgemm.Pack(one, isa, n, k, w, 0, 1, k, pr) : null;
                    float[] y1 = new float[n], y2 = new float[n];
                    Sgemm.Run(one, isa, 1, n, k, x, 0, k, 1, w, 0, 1, k, y1, 0, n, false, pr, packedB: panels);
                    long before = two.Regions;
                    Sgemm.Run(two, isa, 1, n, k, x, 0, k, 1, w, 0, 1, k, y2, 0, n, false, pr, packedB: panels);
                    string what = $"1×{n}×{k} {pr.Name()}{(kept ? " from kept panels" : "")} on {isa.Name()}";
                    Assert.True(two.Regions - before == 1, $"{what}: {two.Regions - before} parallel regions on 2 threads, expected 1 (the call ran on one thread)");
                    Assert.True(y1.AsSpan().SequenceEqual(y2), $"{what}: 2 threads differ from 1 thread");
                }
    }
}

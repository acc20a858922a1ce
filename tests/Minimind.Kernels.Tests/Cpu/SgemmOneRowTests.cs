using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The decode product (one row of A against kept weight panels) runs <see cref="IGemmKernel.Row4{TP}"/> over four
/// panels at a time and the one-panel kernel on the rest; both must give every element the documented summation order.
/// Checked against <see cref="CpuIsaPathTests.Reference"/> on every path (AVX-512 emulated where the CPU lacks it), for
/// panel counts with and without a remainder, a partial last panel, one and several K slices, overwrite and accumulate,
/// the forward and backward-input layouts, and 1 and 2 threads (2 threads split the panels into two chunks).
/// </summary>
public class SgemmOneRowTests
{
    public static TheoryData<int, int> Shapes => new()
    {
        // N: under four panels of either width, exactly 4 and 8 AVX2 panels, 4 AVX-512 panels + a partial one, many.
        { 17, 300 }, { 64, 256 }, { 128, 1 }, { 133, 513 }, { 300, 255 }, { 1000, 77 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OneRowFromKeptPanels_EqualsTheSummationOrderReference(int n, int k)
    {
        float[] x = TestData.ToFloat(TestData.Uniform(n + 3 * k, k)), w = TestData.ToFloat(TestData.Uniform(n * k + 1, n * k));
        float[] start = TestData.ToFloat(TestData.Uniform(7, n));
        foreach (var isa in CpuTestPaths.All)
            foreach (var pr in new[] { Precision.Fp32, Precision.Bf16, Precision.Fp16 })
                foreach (bool forward in new[] { true, false })
                    foreach (bool accumulate in new[] { false, true })
                        foreach (int threads in new[] { 1, 2 })
                        {
                            // Forward: y = x·Wᵀ with W [n, k] (B(p, j) = w[j·k + p]); backward input: dx = dy·W with W [k, n] (B(p, j) = w[p·n + j]).
                            int bRs = forward ? 1 : n, bCs = forward ? k : 1;
                            var work = new WorkPartition(threads);
                            var panels = Sgemm.Pack(work, isa, n, k, w, 0, bRs, bCs, pr);
                            float[] expected = (float[])start.Clone(), got = (float[])start.Clone();
                            CpuIsaPathTests.Reference(expected, accumulate, 1, n, k, x, k, 1, w, bRs, bCs, pr);
                            Sgemm.Run(work, isa, 1, n, k, x, 0, k, 1, w, 0, bRs, bCs, got, 0, n, accumulate, pr, packedB: panels);
                            for (int j = 0; j < n; j++)
                                if (BitConverter.SingleToInt32Bits(expected[j]) != BitConverter.SingleToInt32Bits(got[j]))
                                    Assert.Fail($"1×{n}×{k} {pr.Name()} {(forward ? "forward" : "backward-input")} {(accumulate ? "accumulate" : "overwrite")} " +
                                        $"on {isa.Name()}, {threads} thread(s): element {j} is {got[j]:R}, the reference gives {expected[j]:R}");
                        }
    }
}

using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The fixed 16-lane row sums (<see cref="LaneSum"/>): the same bits on every CPU path, close to float64, and — where the
/// runtime runs TensorPrimitives in 512-bit vectors, as on this project's machines — the same bits as TensorPrimitives,
/// whose 16-lane order the rows of earlier versions had (so trained weights keep their bits).
/// </summary>
public class CpuLaneSumTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;

    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 300).Concat(new[] { 383, 384, 385, 511, 512, 513, 768, 1000, 1408, 2432, 6400, 6401 });

    [Fact]
    public void Dot_SameBitsOnEveryPath_AndCloseToFloat64()
    {
        var x = TestData.ToFloat(TestData.Uniform(1, 7000)); var y = TestData.ToFloat(TestData.Uniform(2, 7000));
        foreach (int n in Lengths())
        {
            var xs = x.AsSpan(0, n); var ys = y.AsSpan(3, n);
            double exact = 0, scale = 0;
            for (int i = 0; i < n; i++) { exact += (double)xs[i] * ys[i]; scale += Math.Abs((double)xs[i] * ys[i]); }
            float first = LaneSum.Dot(Paths[0], xs, ys);
            Assert.True(Math.Abs(first - exact) <= 1e-6 * scale + 1e-30, $"n={n}: {first} vs float64 {exact}");
            foreach (var isa in Paths)
                Assert.Equal(BitConverter.SingleToInt32Bits(first), BitConverter.SingleToInt32Bits(LaneSum.Dot(isa, xs, ys)));
        }
    }

    [SkippableFact]
    public void Dot_AndSumOfSquares_MatchTensorPrimitivesIn512BitVectors()
    {
        Skip.IfNot(Vector512.IsHardwareAccelerated, "TensorPrimitives sums in 8 lanes here (no 512-bit vectors); the 16-lane order is checked across paths above");
        var x = TestData.ToFloat(TestData.Uniform(3, 7000)); var y = TestData.ToFloat(TestData.Uniform(4, 7000));
        foreach (int n in Lengths())
            foreach (var isa in Paths)
            {
                var xs = x.AsSpan(1, n); var ys = y.AsSpan(0, n);
                Assert.True(BitConverter.SingleToInt32Bits(TensorPrimitives.Dot<float>(xs, ys)) == BitConverter.SingleToInt32Bits(LaneSum.Dot(isa, xs, ys)),
                    $"Dot n={n} on {isa.Name()}");
                Assert.True(BitConverter.SingleToInt32Bits(TensorPrimitives.SumOfSquares<float>(xs)) == BitConverter.SingleToInt32Bits(LaneSum.SumOfSquares(isa, xs)),
                    $"SumOfSquares n={n} on {isa.Name()}");
            }
    }
}

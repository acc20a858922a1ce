using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Distributed;
using Minimind.Training;

namespace Minimind.Training.Tests.Distributed;

/// <summary>
/// The deterministic gradient tree: one process's stack evaluation against a hand-written recursive
/// float32 reference, the cross-rank tree (recursive halving/doubling) against one process, on random data.
/// </summary>
public class GradientTreeTests
{
    private const int Len = 1037; // odd: the halving splits are uneven

    private static float[][] Leaves(int count, int seed)
    {
        var rng = new Random(seed);
        // Magnitudes over several decades so that different summation orders round differently.
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, Len)
            .Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4)))).ToArray()).ToArray();
    }

    // The definition, written independently: P(lo,n) = P(lo,⌈n/2⌉) + P(lo+⌈n/2⌉,⌊n/2⌋), absent leaves skipped.
    private static float[]? Reference(float[][] x, int lo, int n, int present)
    {
        if (lo >= present) return null;
        if (n == 1) return (float[])x[lo].Clone();
        int s = (n + 1) / 2;
        var a = Reference(x, lo, s, present);
        var b = Reference(x, lo + s, n - s, present);
        if (b is null) return a;
        var y = new float[Len];
        for (int i = 0; i < Len; i++) y[i] = a![i] + b[i];
        return y;
    }

    private static float[] Single(CpuBackend be, float[][] x, int lo, int count, int present)
    {
        using var tree = new GradientTree(be, Len);
        var target = be.Alloc(Len);
        try
        {
            tree.Evaluate(count, present, target, i => be.AddInPlace(target, Upload(be, x[lo + i])));
            Assert.True(tree.BuffersAllocated <= Math.Max(1, (int)Math.Ceiling(Math.Log2(count))), $"{tree.BuffersAllocated} buffers for {count} leaves");
            return CpuBackend.Span(target).ToArray();
        }
        finally { target.Buffer.Dispose(); }
    }

    private static Tensor Upload(CpuBackend be, float[] v) { var t = be.Alloc(v.Length); be.Upload(t, v); return t; }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}");
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(5)] [InlineData(8)] [InlineData(12)] [InlineData(13)]
    public void StackEvaluationIsThePairwiseOrder(int count)
    {
        using var be = new CpuBackend(1);
        var x = Leaves(count, 100 + count);
        for (int present = 1; present <= count; present++)
        {
            var got = Single(be, x, 0, count, present);
            AssertBits(Reference(x, 0, count, present)!, got, $"{present} of {count} leaves");
            // And it is a sum: within float32 rounding of the float64 total.
            for (int i = 0; i < Len; i++)
            {
                double exact = 0, mag = 0;
                for (int g = 0; g < present; g++) { exact += x[g][i]; mag += Math.Abs(x[g][i]); }
                Assert.True(Math.Abs(got[i] - exact) <= 1e-6 * mag * Math.Max(1, Math.Log2(present)) + 1e-30, $"element {i}: {got[i]} vs {exact}");
            }
        }
    }

    [Fact]
    public void PairwiseDiffersFromSequentialOnThisData()
    {
        // Guards the tests above: on this data the order is visible in the bits.
        using var be = new CpuBackend(1);
        var x = Leaves(8, 7);
        var tree = Single(be, x, 0, 8, 8);
        var seq = new float[Len];
        foreach (var v in x) for (int i = 0; i < Len; i++) seq[i] += v[i];
        Assert.Contains(Enumerable.Range(0, Len), i => BitConverter.SingleToInt32Bits(tree[i]) != BitConverter.SingleToInt32Bits(seq[i]));
    }

    [Theory]
    [InlineData(2, 2)] [InlineData(2, 6)] [InlineData(4, 4)] [InlineData(4, 12)] [InlineData(8, 8)] [InlineData(8, 24)] [InlineData(2, 10)]
    public void RanksCombiningTheirSubtreesEqualOneProcess(int w, int g)
    {
        var x = Leaves(g, 1000 * w + g);
        int a = g / w;
        for (int present = g; present >= 1; present -= Math.Max(1, g / 3))
        {
            using var be0 = new CpuBackend(1);
            var expected = Single(be0, x, 0, g, present);
            var results = ThreadCommunicator.RunAll(w, c =>
            {
                using var be = new CpuBackend(1);
                int mine = Math.Clamp(present - c.Rank * a, 0, a);
                var v = mine > 0 ? Single(be, x, c.Rank * a, a, mine) : new float[Len];
                var red = new TreeAllReduce(c);
                red.Run(v, (present + a - 1) / a);
                Assert.Equal(2L * (w - 1) * Len / w * 4, red.BytesSent, 4.0 * w); // 2(W-1)/W of the vector, ± odd splits
                return v;
            });
            for (int r = 0; r < w; r++) AssertBits(expected, results[r], $"W={w} G={g} present={present} rank {r}");
        }
    }

    [Theory]
    [InlineData(3, 6)] [InlineData(5, 10)] [InlineData(6, 6)]
    public void OtherWorldSizesAgreeAcrossRanksAndRuns(int w, int g)
    {
        Assert.False(TreeAllReduce.IsExactAcrossWorldSizes(w));
        var x = Leaves(g, w * 31 + g);
        int a = g / w;
        float[][] Run() => ThreadCommunicator.RunAll(w, c =>
        {
            using var be = new CpuBackend(1);
            var v = Single(be, x, c.Rank * a, a, a);
            new TreeAllReduce(c).Run(v, w);
            return v;
        });
        var first = Run();
        var second = Run();
        for (int r = 0; r < w; r++) { AssertBits(first[0], first[r], $"rank {r}"); AssertBits(first[0], second[r], $"rerun rank {r}"); }
        for (int i = 0; i < Len; i++)
        {
            double exact = 0, mag = 0;
            for (int k = 0; k < g; k++) { exact += x[k][i]; mag += Math.Abs(x[k][i]); }
            Assert.True(Math.Abs(first[0][i] - exact) <= 1e-6 * mag * 4 + 1e-30, $"element {i}: {first[0][i]} vs {exact}");
        }
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(7)]
    public void SmallCollectives(int w)
    {
        var results = ThreadCommunicator.RunAll(w, c =>
        {
            Collectives.Barrier(c);
            var all = Collectives.AllGather(c, new[] { c.Rank * 1.5f, -c.Rank });
            var b = new byte[5];
            if (c.Rank == w - 1) b = new byte[] { 9, 8, 7, 6, 5 };
            Collectives.Broadcast(c, b, w - 1);
            return (all, b);
        });
        foreach (var (all, b) in results)
        {
            Assert.Equal(Enumerable.Range(0, w).SelectMany(r => new[] { r * 1.5f, -r }).ToArray(), all);
            Assert.Equal(new byte[] { 9, 8, 7, 6, 5 }, b);
        }
    }
}

using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;
using Minimind.Kernels.Tests.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Contract;

/// <summary>
/// <see cref="WriteMode.Overwrite"/> on every op that takes a mode: outputs poisoned with NaN are fully overwritten, and
/// the values equal <see cref="WriteMode.Accumulate"/> into zeroed outputs (the old zero-then-accumulate path the
/// model used), element for element, on the CPU backend and both ILGPU GEMM paths.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class OverwriteModeTests(IlgpuFixture f)
{
    // One op: the output sizes, and a run that writes into those outputs with the given mode (inputs from fixed seeds).
    private sealed record Case(string Name, int[] Outputs, Action<IBackend, Tensor[], WriteMode> Run);

    private static int[] Perm(int seed, int n)
    {
        var rng = new Random(seed);
        var p = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--) { int j = rng.Next(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }

    private static int[] Inverse(int[] p)
    {
        var q = new int[p.Length];
        for (int i = 0; i < p.Length; i++) q[p[i]] = i;
        return q;
    }

    // Distinct top-k picks per row.
    private static int[] Picks(int seed, int rows, int cols, int k)
    {
        var r = new int[rows * k];
        for (int i = 0; i < rows; i++) Perm(seed + i, cols).AsSpan(0, k).CopyTo(r.AsSpan(i * k));
        return r;
    }

    private static readonly Case[] Cases =
    {
        new("MatMul", new[] { 7 * 5 }, (b, o, m) => b.MatMul(o[0], b.Up(TestData.Uniform(1, 7 * 9)), b.Up(TestData.Uniform(2, 5 * 9)), new(7, 5, 9), m)),
        new("MatMulBackwardInput", new[] { 7 * 9 },
            (b, o, m) => b.MatMulBackwardInput(o[0], b.Up(TestData.Uniform(3, 7 * 5)), b.Up(TestData.Uniform(4, 5 * 9)), new(7, 5, 9), m)),
        new("MatMulBackwardWeight", new[] { 5 * 9 },
            (b, o, m) => b.MatMulBackwardWeight(o[0], b.Up(TestData.Uniform(5, 7 * 5)), b.Up(TestData.Uniform(6, 7 * 9)), new(7, 5, 9), m)),
        new("RmsNormBackward", new[] { 6 * 10 }, (b, o, m) =>
        {
            var x = b.Up(TestData.Uniform(7, 60, -2, 2)); var w = b.Up(TestData.Uniform(8, 10, 0.5, 1.5));
            var y = b.Alloc(60); var rstd = b.Alloc(6);
            b.RmsNorm(y, rstd, x, w, new(6, 10), 1e-5f);
            b.RmsNormBackward(o[0], b.Alloc(10), b.Up(TestData.Uniform(9, 60)), x, w, rstd, new(6, 10), m);
        }),
        new("RopeRmsNormBackward", new[] { 2 * 3 * 2 * 8 }, (b, o, m) =>
        {
            RopeShape s = new(2, 3, 2, 8, 0, RopeLayout.RotateHalf);
            var x = b.Up(TestData.Uniform(34, 96, -2, 2)); var w = b.Up(TestData.Uniform(35, 8, 0.5, 1.5));
            var (cos, sin) = Reference64.RopeTables(3, 8, 1e6);
            var rstd = b.Alloc(12);
            b.RmsNormRope(b.Alloc(96), rstd, x, w, b.Up(cos), b.Up(sin), s, 1e-6f);
            b.RopeRmsNormBackward(new(o[0], b.Alloc(8)), b.Up(TestData.Uniform(36, 96)), new(x, w, rstd), b.Up(cos), b.Up(sin), s, m);
        }),
        new("AttentionBackward", new[] { 2 * 9 * 4 * 8, 2 * 9 * 2 * 8, 2 * 9 * 2 * 8 }, (b, o, m) =>
        {
            AttnShape s = new(2, 9, 4, 2, 8);
            var (qn, kn, ln) = OpContract.AttnSizes(s);
            var q = b.Up(TestData.Uniform(10, (int)qn, -2, 2)); var k = b.Up(TestData.Uniform(11, (int)kn, -2, 2)); var v = b.Up(TestData.Uniform(12, (int)kn));
            var att = b.Alloc(qn); var lse = b.Alloc(ln);
            b.Attention(att, lse, q, k, v, s);
            b.AttentionBackward(new(o[0], o[1], o[2]), b.Up(TestData.Uniform(13, (int)qn)), new(q, k, v, att, lse), s, m);
        }),
        new("SwiGluBackward", new[] { 37, 37 },
            (b, o, m) => b.SwiGluBackward(o[0], o[1], b.Up(TestData.Uniform(14, 37)), b.Up(TestData.Uniform(15, 37, -4, 4)), b.Up(TestData.Uniform(16, 37)), m)),
        new("SoftmaxBackward", new[] { 5 * 6 },
            (b, o, m) => b.SoftmaxBackward(o[0], b.Up(TestData.Uniform(17, 30)), b.Up(TestData.Uniform(18, 30, 0, 1)), new(5, 6), m)),
        new("TopKBackward(normalize)", new[] { 5 * 6 }, (b, o, m) =>
            b.TopKBackward(o[0], b.Up(TestData.Uniform(19, 10)), b.Up(TestData.Uniform(20, 30, 0, 1)), b.Up(Picks(21, 5, 6, 2)), new(5, 6, 2), true, m)),
        new("TopKBackward", new[] { 5 * 6 }, (b, o, m) =>
            b.TopKBackward(o[0], b.Up(TestData.Uniform(22, 15)), b.Up(TestData.Uniform(23, 30, 0, 1)), b.Up(Picks(24, 5, 6, 3)), new(5, 6, 3), false, m)),
        new("MoeGatherBackward", new[] { 5 * 4 },
            (b, o, m) => b.MoeGatherBackward(o[0], b.Up(TestData.Uniform(25, 10 * 4)), b.Up(Inverse(Perm(26, 10))), new(5, 2, 4), m)),
        new("MoeCombine", new[] { 5 * 4 }, (b, o, m) =>
            b.MoeCombine(o[0], b.Up(TestData.Uniform(27, 40)), b.Up(TestData.Uniform(28, 10, 0, 1)), b.Up(Inverse(Perm(29, 10))), new(5, 2, 4), m)),
        new("MoeCombineBackward", new[] { 10 * 4, 10 }, (b, o, m) =>
            b.MoeCombineBackward(o[0], o[1], b.Up(TestData.Uniform(30, 20)), b.Up(TestData.Uniform(31, 40)), b.Up(TestData.Uniform(32, 10, 0, 1)),
                b.Up(Inverse(Perm(33, 10))), new(5, 2, 4), m)),
    };

    public static IEnumerable<object[]> Names() => Cases.Select(c => new object[] { c.Name });

    private static void Check(IBackend b, Case c, string backend)
    {
        var poisoned = c.Outputs.Select(n => b.Poisoned(n)).ToArray();
        var zeroed = c.Outputs.Select(n => b.Alloc(n)).ToArray();   // Alloc zero-fills
        c.Run(b, poisoned, WriteMode.Overwrite);
        c.Run(b, zeroed, WriteMode.Accumulate);
        for (int i = 0; i < c.Outputs.Length; i++)
        {
            float[] got = b.Get(poisoned[i]), want = b.Get(zeroed[i]);
            for (int e = 0; e < got.Length; e++)
            {
                Assert.False(float.IsNaN(got[e]), $"{backend} {c.Name}: output {i} element {e} was not written (still NaN)");
                Assert.True(got[e] == want[e], $"{backend} {c.Name}: output {i} element {e} is {got[e]}, zero-then-accumulate gives {want[e]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Overwrite_WritesEveryElement_AndEqualsZeroThenAccumulate(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        using var cpu = new CpuBackend(3);
        Check(cpu, c, "cpu");
        Check(f.B, c, "ilgpu");
        if (name.StartsWith("MatMul")) Check(f.Tiled, c, "ilgpu-tiled");
    }

    [Fact]
    public void Accumulate_AddsOnTopOfTheOutput()
    {
        // The other half of the contract: Accumulate = previous contents + the Overwrite result.
        foreach (IBackend b in new IBackend[] { new CpuBackend(2), f.B })
            foreach (var c in Cases)
            {
                var fresh = c.Outputs.Select(n => b.Alloc(n)).ToArray();
                var start = c.Outputs.Select((n, i) => TestData.Uniform(100 + i, n)).ToArray();
                var added = start.Select(s => b.Up(s)).ToArray();
                c.Run(b, fresh, WriteMode.Overwrite);
                c.Run(b, added, WriteMode.Accumulate);
                for (int i = 0; i < c.Outputs.Length; i++)
                {
                    float[] r = b.Get(fresh[i]), got = b.Get(added[i]);
                    for (int e = 0; e < r.Length; e++)
                        Assert.True(Math.Abs(got[e] - ((float)start[i][e] + r[e])) <= 1e-5 * (1 + Math.Abs(start[i][e]) + Math.Abs(r[e])),
                            $"{b.Name} {c.Name}: output {i} element {e}: {got[e]} != {start[i][e]} + {r[e]}");
                }
            }
    }
}

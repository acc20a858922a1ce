using System.Runtime.InteropServices;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// Every CPU kernel path this machine runs (AVX-512, AVX2+FMA, portable) gives the same bits. The matmuls are checked
/// against a scalar reference written from the documented order — per element, one <see cref="MathF.FusedMultiplyAdd"/>
/// chain over k ascending inside each 256-long K slice starting from +0, the slices added to the output in order — on
/// shapes off every register block (6/12 rows, 16/32 columns), the skinny/tiled switch (48 rows) and the K slice; the
/// attention blocks and row reductions are compared path against path.
/// </summary>
public class CpuIsaPathTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;

    // Element (i, j) of A·B where A(i, p) = a[i·aRs + p·aCs] and B(p, j) = b[p·bRs + j·bCs], accumulated onto c as the
    // kernels do: Σ over each slice of Sgemm.KC k, FMA chain from +0, then c = c + slice sum (the first slice
    // overwrites unless accumulating).
    internal static void Reference(float[] c, bool accumulate, int M, int N, int K, float[] a, int aRs, int aCs, float[] b, int bRs, int bCs, Precision pr)
    {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                float v = accumulate ? c[i * N + j] : 0f;
                for (int p0 = 0; p0 < K; p0 += Sgemm.KC)
                {
                    float s = 0f;
                    for (int p = p0; p < Math.Min(K, p0 + Sgemm.KC); p++)
                        s = MathF.FusedMultiplyAdd(PrecisionRounding.Round(a[i * aRs + p * aCs], pr), PrecisionRounding.Round(b[p * bRs + j * bCs], pr), s);
                    v = p0 == 0 && !accumulate ? s : v + s;
                }
                c[i * N + j] = v;
            }
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, the summation-order reference gives {expected[i]:R}");
    }

    public static IEnumerable<object[]> Shapes()
    {
        // M across the decode sizes, the 48-row skinny limit and the tiled path; N and K off the blocks and slices.
        int[][] shapes =
        {
            new[] { 1, 1, 1 }, new[] { 3, 17, 255 }, new[] { 5, 33, 257 }, new[] { 13, 70, 9 }, new[] { 47, 31, 513 },
            new[] { 48, 65, 300 }, new[] { 49, 40, 256 }, new[] { 97, 97, 600 }, new[] { 131, 18, 77 },
        };
        foreach (var s in shapes)
            foreach (var pr in new[] { Precision.Fp32, Precision.Bf16, Precision.Fp16 })
                yield return new object[] { s[0], s[1], s[2], pr };
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatMul_AllLayouts_EveryPathEqualsTheSummationOrderReference(int m, int n, int k, Precision pr)
    {
        float[] x = TestData.ToFloat(TestData.Uniform(m * 7 + n, m * k)), w = TestData.ToFloat(TestData.Uniform(n * 5 + k, n * k));
        float[] dy = TestData.ToFloat(TestData.Uniform(k * 3 + m, m * n));
        float[] y0 = TestData.ToFloat(TestData.Uniform(11, m * n)), dx0 = TestData.ToFloat(TestData.Uniform(12, m * k)), dw0 = TestData.ToFloat(TestData.Uniform(13, n * k));

        // y = x·wᵀ (overwrite and accumulate); dx += dy·w; dw += dyᵀ·x.
        var y = new float[m * n]; Reference(y, false, m, n, k, x, k, 1, w, 1, k, pr);
        var ya = (float[])y0.Clone(); Reference(ya, true, m, n, k, x, k, 1, w, 1, k, pr);
        var dx = (float[])dx0.Clone(); Reference(dx, true, m, k, n, dy, n, 1, w, k, 1, pr);
        var dw = (float[])dw0.Clone(); Reference(dw, true, n, k, m, dy, 1, n, x, k, 1, pr);

        foreach (var isa in Paths)
            foreach (int threads in new[] { 1, 3 })
            {
                using var h = new CpuHarness(threads, isa);
                string at = $"{m}x{n}x{k} {pr.Name()} on {isa.Name()}, {threads} thread(s)";
                var gs = new GemmShape(m, n, k, pr);
                Tensor xt = h.Up(TestData.ToDouble(x)), wt = h.Up(TestData.ToDouble(w)), dyt = h.Up(TestData.ToDouble(dy));
                var yt = h.Poisoned(m * n); h.B.MatMul(yt, xt, wt, gs);
                AssertBits(y, CpuHarness.Get(yt), "y " + at);
                var yat = h.Up(TestData.ToDouble(y0)); h.B.MatMul(yat, xt, wt, gs, WriteMode.Accumulate);
                AssertBits(ya, CpuHarness.Get(yat), "y += " + at);
                var dxt = h.Up(TestData.ToDouble(dx0)); h.B.MatMulBackwardInput(dxt, dyt, wt, gs, WriteMode.Accumulate);
                AssertBits(dx, CpuHarness.Get(dxt), "dx " + at);
                var dwt = h.Up(TestData.ToDouble(dw0)); h.B.MatMulBackwardWeight(dwt, dyt, xt, gs, WriteMode.Accumulate);
                AssertBits(dw, CpuHarness.Get(dwt), "dw " + at);
            }
    }

    // Every output of attention forward/backward, RMSNorm forward/backward and MoE combine backward on one path.
    private static List<(string Name, float[] Bits)> RowAndAttentionOps(CpuIsa isa, Precision pr, int batch, int T, int H, int Hkv, int hd)
    {
        using var h = new CpuHarness(2, isa);
        var outs = new List<(string, float[])>();
        int qn = batch * T * H * hd, kn = batch * T * Hkv * hd;
        Tensor q = h.Up(TestData.Uniform(301, qn, -2, 2)), k = h.Up(TestData.Uniform(302, kn, -2, 2)), v = h.Up(TestData.Uniform(303, kn));
        var o = h.Poisoned(qn); var lse = h.Poisoned(batch * H * T);
        var shape = new AttnShape(batch, T, H, Hkv, hd, pr);
        h.B.Attention(o, lse, q, k, v, shape);
        Tensor dq = h.Up(TestData.Uniform(304, qn)), dk = h.Up(TestData.Uniform(305, kn)), dv = h.Up(TestData.Uniform(306, kn));
        h.B.AttentionBackward(new(dq, dk, dv), h.Up(TestData.Uniform(307, qn)), new(q, k, v, o, lse), shape, WriteMode.Accumulate);
        outs.Add(("attention output", CpuHarness.Get(o))); outs.Add(("lse", CpuHarness.Get(lse)));
        outs.Add(("dq", CpuHarness.Get(dq))); outs.Add(("dk", CpuHarness.Get(dk))); outs.Add(("dv", CpuHarness.Get(dv)));

        int rows = 37, dim = 2 * hd + 3;
        Tensor xr = h.Up(TestData.Uniform(308, rows * dim)), wr = h.Up(TestData.Uniform(309, dim));
        var yr = h.Poisoned(rows * dim); var rs = h.Poisoned(rows);
        h.B.RmsNorm(yr, rs, xr, wr, new(rows, dim), 1e-5f);
        var dxr = h.Up(TestData.Uniform(310, rows * dim)); var dwr = h.Up(TestData.Uniform(311, dim));
        h.B.RmsNormBackward(dxr, dwr, h.Up(TestData.Uniform(312, rows * dim)), xr, wr, rs, new(rows, dim), WriteMode.Accumulate);
        outs.Add(("rmsnorm y", CpuHarness.Get(yr))); outs.Add(("rmsnorm rstd", CpuHarness.Get(rs)));
        outs.Add(("rmsnorm dx", CpuHarness.Get(dxr))); outs.Add(("rmsnorm dweight", CpuHarness.Get(dwr)));
        return outs;
    }

    [Theory]
    [InlineData(2, 101, 8, 2, 20, Precision.Fp32)]
    [InlineData(1, 150, 4, 4, 96, Precision.Fp32)]
    [InlineData(3, 13, 8, 1, 16, Precision.Bf16)]
    [InlineData(1, 97, 6, 3, 40, Precision.Fp16)]
    public void AttentionAndRowReductions_SameBitsOnEveryPath(int batch, int T, int H, int Hkv, int hd, Precision pr)
    {
        var first = RowAndAttentionOps(Paths[0], pr, batch, T, H, Hkv, hd);
        foreach (var isa in Paths.Skip(1))
        {
            var other = RowAndAttentionOps(isa, pr, batch, T, H, Hkv, hd);
            for (int i = 0; i < first.Count; i++)
                Assert.True(MemoryMarshal.AsBytes(first[i].Bits.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other[i].Bits.AsSpan())),
                    $"{first[i].Name} differs between {Paths[0].Name()} and {isa.Name()}");
        }
    }

    [Fact]
    public void Cap_LowersThePathNeverRaisesIt_AndNamesTheVariable()
    {
        Assert.Equal(CpuIsa.Avx2, CpuIsas.Cap(CpuIsa.Avx512, null, "0", out var why));
        Assert.Equal("DOTNET_EnableAVX512F=0", why);
        Assert.Equal(CpuIsa.Avx512, CpuIsas.Cap(CpuIsa.Avx512, null, "1", out why));
        Assert.Null(why);
        Assert.Equal(CpuIsa.Portable, CpuIsas.Cap(CpuIsa.Avx512, "Portable", null, out why));
        Assert.Equal("MINIMIND_CPU_ISA=Portable", why);
        Assert.Equal(CpuIsa.Avx2, CpuIsas.Cap(CpuIsa.Avx2, "avx512", null, out why));
        Assert.Null(why);
        var e = Assert.Throws<ArgumentException>(() => CpuIsas.Cap(CpuIsa.Avx512, "sse", null, out _));
        Assert.Contains("MINIMIND_CPU_ISA=sse", e.Message);
    }

    [Fact]
    public void DeviceLine_NamesThePath()
    {
        foreach (var isa in Paths)
        {
            using var b = CpuTestPaths.Backend(1, isa);
            Assert.Contains(isa switch { CpuIsa.Avx512 => "AVX-512", CpuIsa.Avx2 => "AVX2+FMA", _ => "portable" }, b.DeviceName);
            Assert.Equal(CpuIsas.IsEmulated(isa), b.DeviceName.Contains("emulated in software", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void EmulationSwitch_TakesOneOrZero_AndNamesTheVariableOtherwise()
    {
        Assert.False(CpuIsas.ParseSwitch("V", null));
        Assert.False(CpuIsas.ParseSwitch("V", ""));
        Assert.False(CpuIsas.ParseSwitch("V", " 0 "));
        Assert.True(CpuIsas.ParseSwitch("V", "1"));
        var e = Assert.Throws<ArgumentException>(() => CpuIsas.ParseSwitch(CpuIsas.EmulateVariable, "yes"));
        Assert.Equal("MINIMIND_CPU_EMULATE_AVX512=yes: expected 1 (on) or 0 (off)", e.Message);
    }

    [Fact]
    public void EmulatedAvx512_IsRunOnlyWhenAskedFor()
    {
        if (!CpuIsas.IsEmulated(CpuIsa.Avx512) || CpuIsas.EmulationRequested)
        {
            // This CPU runs AVX-512 (or the variable is set): the public constructor takes the path.
            using var b = new CpuBackend(1, CpuIsa.Avx512);
            Assert.Equal(CpuIsa.Avx512, b.Isa);
            return;
        }
        var e = Assert.Throws<PlatformNotSupportedException>(() => new CpuBackend(1, CpuIsa.Avx512));
        Assert.Contains(CpuIsas.EmulateVariable + "=1", e.Message);
        Assert.NotEqual(CpuIsa.Avx512, CpuIsas.Default);
    }
}

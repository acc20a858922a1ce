using System.Runtime.Intrinsics;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The vectorised element-wise ops of a training step (AdamW, SumOfSquares, SwiGLU forward and backward, the RMSNorm
/// weight gradient, RoPE) give, on every path this CPU runs and at 1 and 3 threads, exactly the bits of a scalar reference
/// written here from each op's documented formula and order (no fused multiply-add, float64 sums of squares in four
/// accumulators by index mod 4): vectorising them must not change trained weights. Lengths hit the 16-lane blocks,
/// the scalar tails, the 256-element exp blocks and the work partition's grains.
/// </summary>
public class CpuElementwiseBitsTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;

    public static IEnumerable<object[]> Lengths() =>
        new[] { 1, 15, 16, 17, 255, 257, 1000, 16_387, 70_001 }.Select(n => new object[] { n });

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, the scalar formula gives {expected[i]:R}");
    }

    private static IEnumerable<(CpuHarness H, string At)> Backends()
    {
        foreach (var isa in Paths)
            foreach (int threads in new[] { 1, 3 })
                yield return (new CpuHarness(threads, isa), $"{isa.Name()}, {threads} thread(s)");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AdamW_TwoSteps_EqualsTheScalarFormula(int n)
    {
        float[] p = TestData.ToFloat(TestData.Uniform(401, n)), m = new float[n], v = new float[n];
        float[][] g = { TestData.ToFloat(TestData.Uniform(402, n, -3, 3)), TestData.ToFloat(TestData.Uniform(403, n, -1e-3, 1e-3)) };
        var steps = new[] { new AdamScalars(3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 0.37f), new AdamScalars(3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 2, 1f) };
        float[] pr = (float[])p.Clone(), mr = new float[n], vr = new float[n];
        for (int t = 0; t < 2; t++)
        {
            var s = steps[t];
            for (int i = 0; i < n; i++)
            {
                float gi = g[t][i] * s.GradScale;
                float pi = pr[i] * s.Decay;
                float mi = mr[i] * s.B1 + s.C1 * gi;
                float vi = vr[i] * s.B2 + s.C2 * gi * gi;
                mr[i] = mi; vr[i] = vi;
                pr[i] = pi + s.NegStep * mi / (MathF.Sqrt(vi) / s.Bc2Sqrt + s.Eps);
            }
        }
        foreach (var (h, at) in Backends())
            using (h)
            {
                Tensor pt = h.Up(TestData.ToDouble(p)), mt = h.Up(TestData.ToDouble(m)), vt = h.Up(TestData.ToDouble(v));
                h.B.AdamW(pt, h.Up(TestData.ToDouble(g[0])), mt, vt, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 0.37f);
                h.B.AdamW(pt, h.Up(TestData.ToDouble(g[1])), mt, vt, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 2, 1f);
                AssertBits(mr, CpuHarness.Get(mt), $"AdamW m, n {n}, {at}");
                AssertBits(vr, CpuHarness.Get(vt), $"AdamW v, n {n}, {at}");
                AssertBits(pr, CpuHarness.Get(pt), $"AdamW p, n {n}, {at}");
            }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SumOfSquares_EqualsFourAccumulatorsPerChunk(int n)
    {
        float[] x = TestData.ToFloat(TestData.Uniform(404, n, -5, 5));
        double expected = 0;
        for (int c0 = 0; c0 < n; c0 += CpuOps.SumChunk)
        {
            var a = new double[4];
            int e = Math.Min(n, c0 + CpuOps.SumChunk), i = c0;
            for (; i + 4 <= e; i += 4)
                for (int l = 0; l < 4; l++) a[l] += (double)x[i + l] * x[i + l];
            for (; i < e; i++) a[0] += (double)x[i] * x[i];
            expected += (a[0] + a[1]) + (a[2] + a[3]);
        }
        foreach (var (h, at) in Backends())
            using (h)
            {
                double got = h.B.SumOfSquares(h.Up(TestData.ToDouble(x)));
                Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(got),
                    $"SumOfSquares n {n}, {at}: {got:R}, the four-accumulator sum gives {expected:R}");
            }
    }

    // The SwiGLU kernels' exp (ElementwiseKernels.Exp8), here of one element alone in lane 0, so a kernel that gave an
    // element another value by its position (a lane, the padded tail) fails.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static float ExpOf(float x) => ElementwiseKernels.Exp8(Vector256.Create(x)).ToScalar();

    [Fact]
    public void SwiGluExp_IsTheFloat64ExpRoundedToFloat()
    {
        // Every 6007th float where exp neither overflows nor goes subnormal (x in [−87.3, 88.7]), 372,510 points: equal to
        // exp computed in float64 and rounded to float, but where that float64 value lies within a float64 ulp or two of a
        // rounding boundary (then one ulp off). Measured: all equal; libm's expf, the exp before, misses at 29 of them.
        int off = 0, worst = 0; float worstX = 0;
        for (long bits = BitConverter.SingleToInt32Bits(-87.3f); bits > int.MinValue; bits -= 6007) Check(BitConverter.Int32BitsToSingle((int)bits));
        for (int bits = 0; bits <= BitConverter.SingleToInt32Bits(88.7f); bits += 6007) Check(BitConverter.Int32BitsToSingle(bits));
        Assert.True(worst <= 1 && off <= 2, $"{off} values off, exp({worstX:R}) = {ExpOf(worstX):R} is {worst} ulps from the float64 exp's {(float)Math.Exp(worstX):R}");

        void Check(float x)
        {
            int expected = BitConverter.SingleToInt32Bits((float)Math.Exp(x));
            int ulps = Math.Abs(BitConverter.SingleToInt32Bits(ExpOf(x)) - expected);
            if (ulps > 0) off++;
            if (ulps > worst) { worst = ulps; worstX = x; }
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SwiGlu_ForwardAndBackward_EqualTheScalarFormula(int n)
    {
        float[] gate = TestData.ToFloat(TestData.Uniform(405, n, -12, 12)), up = TestData.ToFloat(TestData.Uniform(406, n, -2, 2));
        float[] dh = TestData.ToFloat(TestData.Uniform(407, n)), dg0 = TestData.ToFloat(TestData.Uniform(408, n)), du0 = TestData.ToFloat(TestData.Uniform(409, n));
        float[] hr = new float[n], dgr = new float[n], dur = new float[n], dgAcc = new float[n], duAcc = new float[n];
        for (int i = 0; i < n; i++)
        {
            float g = gate[i], d = dh[i];
            float e = ExpOf(-g);
            hr[i] = g / (1f + e) * up[i];
            float sig = 1f / (1f + e);
            float silu = g * sig;
            dgr[i] = d * up[i] * (sig * (1f + g * (1f - sig)));
            dur[i] = d * silu;
            dgAcc[i] = dg0[i] + dgr[i]; duAcc[i] = du0[i] + dur[i];
        }
        foreach (var (h, at) in Backends())
            using (h)
            {
                Tensor gt = h.Up(TestData.ToDouble(gate)), ut = h.Up(TestData.ToDouble(up)), dht = h.Up(TestData.ToDouble(dh));
                var ht = h.Poisoned(n);
                h.B.SwiGlu(ht, gt, ut);
                AssertBits(hr, CpuHarness.Get(ht), $"SwiGlu, n {n}, {at}");
                Tensor dgt = h.Poisoned(n), dut = h.Poisoned(n);
                h.B.SwiGluBackward(dgt, dut, dht, gt, ut, WriteMode.Overwrite);
                AssertBits(dgr, CpuHarness.Get(dgt), $"SwiGluBackward dGate, n {n}, {at}");
                AssertBits(dur, CpuHarness.Get(dut), $"SwiGluBackward dUp, n {n}, {at}");
                Tensor dga = h.Up(TestData.ToDouble(dg0)), dua = h.Up(TestData.ToDouble(du0));
                h.B.SwiGluBackward(dga, dua, dht, gt, ut, WriteMode.Accumulate);
                AssertBits(dgAcc, CpuHarness.Get(dga), $"SwiGluBackward dGate +=, n {n}, {at}");
                AssertBits(duAcc, CpuHarness.Get(dua), $"SwiGluBackward dUp +=, n {n}, {at}");
            }
    }

    [Theory]
    [InlineData(37, 1)]
    [InlineData(9, 15)]
    [InlineData(33, 100)]
    [InlineData(5, 515)]
    public void RmsNormWeightGradient_EqualsRowsAddedInOrder(int rows, int dim)
    {
        float[] dy = TestData.ToFloat(TestData.Uniform(410, rows * dim)), dw0 = TestData.ToFloat(TestData.Uniform(411, dim));
        float[] x = TestData.ToFloat(TestData.Uniform(412, rows * dim, -3, 3));
        foreach (var (h, at) in Backends())
            using (h)
            {
                Tensor xt = h.Up(TestData.ToDouble(x)), wt = h.Up(TestData.Uniform(413, dim));
                var rs = h.Poisoned(rows);
                h.B.RmsNorm(h.Poisoned(rows * dim), rs, xt, wt, new(rows, dim), 1e-5f);
                float[] r = CpuHarness.Get(rs);
                // dW[c] += Σ over rows ascending of (dy·x)·rstd, the sum started at +0 and added to dW once.
                var expected = new float[dim];
                for (int c = 0; c < dim; c++)
                {
                    float acc = 0f;
                    for (int row = 0; row < rows; row++) acc += dy[row * dim + c] * x[row * dim + c] * r[row];
                    expected[c] = dw0[c] + acc;
                }
                var dwt = h.Up(TestData.ToDouble(dw0));
                h.B.RmsNormBackward(h.Poisoned(rows * dim), dwt, h.Up(TestData.ToDouble(dy)), xt, wt, rs, new(rows, dim), WriteMode.Overwrite);
                AssertBits(expected, CpuHarness.Get(dwt), $"RMSNorm dWeight {rows}x{dim}, {at}");
            }
    }

    [Theory]
    [InlineData(64, RopeLayout.Interleaved)]
    [InlineData(64, RopeLayout.RotateHalf)]
    [InlineData(20, RopeLayout.Interleaved)]
    [InlineData(40, RopeLayout.RotateHalf)]
    [InlineData(96, RopeLayout.Interleaved)]
    [InlineData(96, RopeLayout.RotateHalf)]
    public void Rope_BothDirections_EqualTheScalarRotation(int hd, RopeLayout layout)
    {
        int batch = 2, T = 5, heads = 3, half = hd / 2, offset = 2, n = batch * T * heads * hd;
        float[] x = TestData.ToFloat(TestData.Uniform(414, n, -4, 4));
        float[] cos = TestData.ToFloat(TestData.Uniform(415, (T + offset) * half)), sin = TestData.ToFloat(TestData.Uniform(416, (T + offset) * half));
        foreach (float direction in new[] { 1f, -1f })
        {
            // Pair i of a head row at position t: (x0, x1) → (x0·c − x1·s, x1·c + x0·s), s = direction·sin.
            var expected = (float[])x.Clone();
            for (int row = 0; row < batch * T * heads; row++)
            {
                int tab = (row / heads % T + offset) * half, b = row * hd;
                for (int i = 0; i < half; i++)
                {
                    int i0 = layout == RopeLayout.Interleaved ? b + 2 * i : b + i, i1 = layout == RopeLayout.Interleaved ? i0 + 1 : i0 + half;
                    float c = cos[tab + i], sn = direction * sin[tab + i], x0 = x[i0], x1 = x[i1];
                    expected[i0] = x0 * c - x1 * sn;
                    expected[i1] = x1 * c + x0 * sn;
                }
            }
            foreach (var (h, at) in Backends())
                using (h)
                {
                    var xt = h.Up(TestData.ToDouble(x));
                    Tensor ct = h.Up(TestData.ToDouble(cos)), st = h.Up(TestData.ToDouble(sin));
                    var shape = new RopeShape(batch, T, heads, hd, offset, layout);
                    if (direction > 0) h.B.Rope(xt, ct, st, shape); else h.B.RopeBackward(xt, ct, st, shape);
                    AssertBits(expected, CpuHarness.Get(xt), $"Rope hd {hd} {layout} direction {direction}, {at}");
                }
        }
    }
}

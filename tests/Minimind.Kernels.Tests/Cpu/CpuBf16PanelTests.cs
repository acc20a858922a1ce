using System.Runtime.Intrinsics;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The bf16 SGEMM's 16-bit B panels (<see cref="Bf16Panels"/>, tiled path; the skinny path of ≤ 48 rows keeps float32
/// panels, and its shapes here check that the switch costs no bits) against the float32 panels it replaced: the same
/// bits from every layout, shape and CPU path, including the special values (±∞, signed zeros, subnormals, a value
/// that rounds to ∞, NaNs with and without low payload bits). The panels themselves are checked value by value
/// against the float32 packing (and <see cref="CpuIsaPathTests"/> checks the bf16 products against the scalar
/// summation-order reference), so the comparison cannot pass by the 16-bit path never running.
/// </summary>
public unsafe class CpuBf16PanelTests
{
    private static readonly CpuIsa[] Paths = CpuTestPaths.All;

    public static IEnumerable<object[]> Shapes()
    {
        // M over the decode kernel (≤ 4 rows), the 6/12-row blocks, the 48-row skinny limit and the 96-row work items;
        // N over the 16/32-column panels; K over the 8-row transposes and the 256-long slice.
        int[][] shapes =
        {
            new[] { 1, 1, 1 }, new[] { 4, 17, 9 }, new[] { 5, 33, 257 }, new[] { 13, 31, 7 }, new[] { 47, 16, 513 },
            new[] { 48, 65, 256 }, new[] { 49, 32, 255 }, new[] { 97, 47, 300 }, new[] { 200, 70, 9 }, new[] { 131, 96, 520 },
        };
        foreach (var s in shapes) yield return new object[] { s[0], s[1], s[2] };
    }

    // The three nn.Linear layouts as CpuOps.MatMul* call Sgemm (forward, backward input, backward weight), each once
    // overwriting and once accumulating, with 16-bit panels or float32 panels.
    private static List<float[]> Products(CpuIsa isa, int threads, int m, int n, int k, float[] x, float[] w, float[] dy, bool narrow)
    {
        var work = new WorkPartition(threads);
        var outs = new List<float[]>();
        foreach (bool acc in new[] { false, true })
        {
            float[] y = Seeded(21, m * n), dx = Seeded(22, m * k), dw = Seeded(23, n * k);
            Sgemm.Run(work, isa, m, n, k, x, 0, k, 1, w, 0, 1, k, y, 0, n, acc, Precision.Bf16, narrow);
            Sgemm.Run(work, isa, m, k, n, dy, 0, n, 1, w, 0, k, 1, dx, 0, k, acc, Precision.Bf16, narrow);
            Sgemm.Run(work, isa, n, k, m, dy, 0, 1, n, x, 0, k, 1, dw, 0, k, acc, Precision.Bf16, narrow);
            outs.Add(y); outs.Add(dx); outs.Add(dw);
        }
        return outs;
    }

    private static float[] Seeded(int seed, int n) => TestData.ToFloat(TestData.Uniform(seed, n));

    private static void AssertSameBits(List<float[]> expected, List<float[]> actual, string at)
    {
        string[] names = { "y", "dx", "dw", "y +=", "dx +=", "dw +=" };
        for (int o = 0; o < expected.Count; o++)
            for (int i = 0; i < expected[o].Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[o][i]) != BitConverter.SingleToInt32Bits(actual[o][i]))
                    Assert.Fail($"{names[o]} {at}: element {i} is {BitConverter.SingleToInt32Bits(actual[o][i]):X8} with 16-bit panels, " +
                        $"{BitConverter.SingleToInt32Bits(expected[o][i]):X8} with float32 panels");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SixteenBitPanels_GiveTheFloat32PanelsBits_EveryLayoutAndPath(int m, int n, int k)
    {
        float[] x = Seeded(m * 7 + n, m * k), w = Seeded(n * 5 + k, n * k), dy = Seeded(k * 3 + m, m * n);
        foreach (var isa in Paths)
            foreach (int threads in new[] { 1, 2 })
                AssertSameBits(Products(isa, threads, m, n, k, x, w, dy, narrow: false), Products(isa, threads, m, n, k, x, w, dy, narrow: true),
                    $"{m}x{n}x{k} on {isa.Name()}, {threads} thread(s)");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SpecialValues_SameBits_LowPayloadNaNFallsBackToFloat32(bool payloadNaN)
    {
        uint[] specials =
        {
            0x7F800000, 0xFF800000, 0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x7F7FFFFF, 0xFF7FFFFF,
            0x3F808000, 0x3F818000, 0x7FC00000, 0xFFC10000, 0x00010000,
        };
        int m = 60, n = 40, k = 300;
        float[] x = Seeded(1, m * k), w = Seeded(2, n * k), dy = Seeded(3, m * n);
        for (int i = 0; i < specials.Length; i++)
        {
            float v = BitConverter.UInt32BitsToSingle(specials[i]);
            x[i * 37 % x.Length] = v; w[i * 53 % w.Length] = v; dy[i * 29 % dy.Length] = v;
        }
        // A NaN whose payload is only in the low 16 bits: bf16 rounding keeps NaNs as they are, so it cannot be narrowed.
        if (payloadNaN) { w[n * k / 2 + 3] = BitConverter.UInt32BitsToSingle(0x7F800001); x[m * k - 5] = BitConverter.UInt32BitsToSingle(0xFFC00123); }
        foreach (var isa in Paths)
            AssertSameBits(Products(isa, 2, m, n, k, x, w, dy, narrow: false), Products(isa, 2, m, n, k, x, w, dy, narrow: true),
                $"special values{(payloadNaN ? " + low-payload NaN" : "")} on {isa.Name()}");
    }

    // Packs one B (kc × N, both strides) through float32 and bf16 panels and compares, row by row, the floats the kernel
    // of TK reads; Bf16Panels must accept ordinary data (true) and refuse a low-payload NaN (false).
    private static void PanelsHoldTheRoundedValues<TK>() where TK : struct, IGemmKernel
    {
        int NR = TK.NR, kc = 37, N = 3 * NR + 5;
        float[] b = Seeded(77, kc * N);
        int panels = (N + NR - 1) / NR;
        var f32 = new float[panels * NR * kc];
        var bf16 = new float[panels * NR * kc / 2];
        fixed (float* pb = b, pf = f32, ph = bf16)
        {
            foreach (bool rowsContiguous in new[] { true, false })
            {
                int rs = rowsContiguous ? N : 1, cs = rowsContiguous ? 1 : kc;
                for (int j0 = 0; j0 < N; j0 += NR)
                {
                    Assert.True(F32Panels.PackB<TK>((byte*)(pf + j0 * kc), pb + j0 * cs, rs, cs, Math.Min(NR, N - j0), kc, Precision.Bf16));
                    Assert.True(Bf16Panels.PackB<TK>((byte*)(ph + j0 * kc / 2), pb + j0 * cs, rs, cs, Math.Min(NR, N - j0), kc, Precision.Bf16));
                }
                ComparePanels<TK>(pf, (byte*)ph, panels, kc, $"PackB, {(rowsContiguous ? "contiguous columns" : "contiguous k")}");
                if (rowsContiguous)
                {
                    Array.Clear(bf16);
                    Assert.True(Bf16Panels.PackBRows<TK>((byte*)ph, pb, rs, N, 0, panels, kc, Precision.Bf16));
                    ComparePanels<TK>(pf, (byte*)ph, panels, kc, "PackBRows");
                }
            }
            b[N + 2] = BitConverter.UInt32BitsToSingle(0x7FC00001);
            Assert.False(Bf16Panels.PackB<TK>((byte*)ph, pb, N, 1, NR, kc, Precision.Bf16));
            Assert.False(Bf16Panels.PackBRows<TK>((byte*)ph, pb, N, N, 0, panels, kc, Precision.Bf16));
        }
    }

    private static void ComparePanels<TK>(float* f32, byte* bf16, int panels, int kc, string what) where TK : struct, IGemmKernel
    {
        int NR = TK.NR;
        var widened = new float[NR];
        for (int r = 0; r < panels * kc; r++)
        {
            byte* row = bf16 + (long)r * NR * 2;
            if (NR == 32) { Bf16Panels.Load512(row, 0).CopyTo(widened, 0); Bf16Panels.Load512(row, 1).CopyTo(widened, 16); }
            else if (typeof(TK) == typeof(GemmKernelAvx2)) { Bf16Panels.Load256(row, 0).CopyTo(widened, 0); Bf16Panels.Load256(row, 1).CopyTo(widened, 8); }
            else for (int q = 0; q < 4; q++) Bf16Panels.Load128(row, q).CopyTo(widened, 4 * q);
            for (int j = 0; j < NR; j++)
                Assert.True(BitConverter.SingleToInt32Bits(f32[(long)r * NR + j]) == BitConverter.SingleToInt32Bits(widened[j]),
                    $"{what} ({typeof(TK).Name}): panel row {r} column {j} widens to {widened[j]:R}, the float32 panel holds {f32[(long)r * NR + j]:R}");
        }
    }

    [Fact]
    public void Bf16Panels_WidenToTheFloat32PanelValues_OnEveryKernelGeometry()
    {
        // The loads are plain Vector code, so every geometry can be checked here whatever the CPU runs.
        PanelsHoldTheRoundedValues<GemmKernelPortable>();
        PanelsHoldTheRoundedValues<GemmKernelAvx2>();
        PanelsHoldTheRoundedValues<GemmKernelAvx512>();
    }
}

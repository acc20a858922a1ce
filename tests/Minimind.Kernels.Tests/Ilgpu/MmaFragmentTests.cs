using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Ilgpu;
using Minimind.Kernels.Ilgpu.Mma;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>Test kernel: one warp loads its fragments (4 A, 2 B registers, 4 C floats per lane) and runs one m16n8k16.</summary>
public static class MmaTestKernels
{
    public static void OneMma(ArrayView<uint> a, ArrayView<uint> b, ArrayView<float> c, ArrayView<float> d, int precision)
    {
        int l = Group.IdxX;
        var fa = new MmaA { R0 = a[4 * l], R1 = a[4 * l + 1], R2 = a[4 * l + 2], R3 = a[4 * l + 3] };
        var fb = new MmaB { R0 = b[2 * l], R1 = b[2 * l + 1] };
        var fc = new MmaAcc { D0 = c[4 * l], D1 = c[4 * l + 1], D2 = c[4 * l + 2], D3 = c[4 * l + 3] };
        var r = MmaM16n8k16.Run(fa, fb, fc, precision);
        d[4 * l] = r.D0; d[4 * l + 1] = r.D1; d[4 * l + 2] = r.D2; d[4 * l + 3] = r.D3;
    }
}

/// <summary>
/// The mma primitive: the device rounding equals the CPU reference bit for bit; the warp-shuffle fallback, run on a
/// simulated 32-lane warp, turns registers packed by the PTX ISA's fragment formulas (written out again here, from the
/// ISA text) into D = A·B + C vs float64; the CUDA path's PTX holds the mma.sync instruction and assembles with ptxas.
/// </summary>
public sealed class MmaFragmentTests
{
    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Fp16)]
    public void DeviceRounding_EqualsPrecisionRounding(Precision p)
    {
        var values = new List<float> { 0f, -0f, 1f, -1f, 65504f, 65519.99f, 65520f, -65520f, 65536f, float.MaxValue, float.MinValue,
            float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, 1e-38f, MathF.Pow(2, -24), MathF.Pow(2, -25),
            3 * MathF.Pow(2, -26), 1.5f * MathF.Pow(2, -25), MathF.Pow(2, -14), MathF.Pow(2, -14) * (1 - MathF.Pow(2, -12)),
            1.00390625f, 1.0078125f, 1.01171875f, 1.0009765625f, 1.00146484375f, 3.3895314e38f, 3.3961776e38f };
        var rng = new Random(5);
        for (int i = 0; i < 200_000; i++) values.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)));
        for (int i = 0; i < 200_000; i++) values.Add((float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-30, 20))));
        int code = (int)p;
        foreach (float x in values)
        {
            float want = PrecisionRounding.Round(x, p), got = DeviceRounding.Round(x, code);
            if (float.IsNaN(want)) { Assert.True(float.IsNaN(got), $"{x:R}: NaN expected, got {got:R}"); continue; }
            Assert.True(BitConverter.SingleToUInt32Bits(want) == BitConverter.SingleToUInt32Bits(got), $"{p} {x:R} ({BitConverter.SingleToUInt32Bits(x):X8}): {got:R} vs {want:R}");
            uint bits = DeviceRounding.ToBits(x, code);
            uint wantBits = p == Precision.Fp16 ? BitConverter.HalfToUInt16Bits((System.Half)x) : BitConverter.SingleToUInt32Bits(want) >> 16;
            Assert.Equal(wantBits, bits);
        }
        Assert.Equal(2.5f, DeviceRounding.Hi(DeviceRounding.Pack(-3f, 2.5f, code), code));
        Assert.Equal(-3f, DeviceRounding.Lo(DeviceRounding.Pack(-3f, 2.5f, code), code));
    }

    [Theory]
    [InlineData(Precision.Bf16, true)]
    [InlineData(Precision.Fp16, true)]
    [InlineData(Precision.Bf16, false)]
    [InlineData(Precision.Fp16, false)]
    public void ShuffleFallback_OnA32LaneWarp_MatchesFloat64(Precision p, bool smallIntegers)
    {
        var rng = new Random(smallIntegers ? 11 : 12 + (int)p);
        double Value() => smallIntegers ? rng.Next(-4, 5) : PrecisionRounding.Round((float)(rng.NextDouble() * 4 - 2), p);
        var A = new double[16, 16]; var B = new double[16, 8]; var C = new double[16, 8];
        for (int i = 0; i < 16; i++) for (int k = 0; k < 16; k++) A[i, k] = Value();
        for (int k = 0; k < 16; k++) for (int j = 0; j < 8; j++) B[k, j] = Value();
        for (int i = 0; i < 16; i++) for (int j = 0; j < 8; j++) C[i, j] = smallIntegers ? rng.Next(-50, 51) : rng.NextDouble() * 4 - 2;
        var (a, b, c) = Pack(A, B, C, p);

        using var ctx = Context.Create(x => x.CPU(new CPUDevice(32, 1, 1)).EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var acc = ctx.CreateCPUAccelerator(0);
        var kernel = acc.LoadStreamKernel<ArrayView<uint>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, int>(MmaTestKernels.OneMma);
        using var da = acc.Allocate1D(a); using var db = acc.Allocate1D(b); using var dc = acc.Allocate1D(c);
        using var dd = acc.Allocate1D<float>(128);
        kernel(new KernelConfig(1, 32), da.View, db.View, dc.View, dd.View, (int)p);
        acc.Synchronize();
        var d = dd.GetAsArray1D();

        for (int lane = 0; lane < 32; lane++)
            for (int i = 0; i < 4; i++)
            {
                var (row, col) = CFragment(lane, i);
                double want = C[row, col], mag = Math.Abs(C[row, col]);
                for (int k = 0; k < 16; k++) { want += A[row, k] * B[k, col]; mag += Math.Abs(A[row, k] * B[k, col]); }
                // Products of bf16/fp16 values are exact in float32; 16 float32 additions err by at most 16·2^-24·Σ|terms|.
                // Small integers make every partial sum exact, so there D must equal the reference exactly.
                double tol = smallIntegers ? 0 : 16 * Math.Pow(2, -24) * mag;
                Assert.True(Math.Abs(d[4 * lane + i] - want) <= tol, $"lane {lane} c{i} = D[{row},{col}]: {d[4 * lane + i]} vs {want} (tol {tol:E2})");
            }
    }

    [SkippableTheory]
    [InlineData("bf16")]
    [InlineData("f16")]
    public void CudaPath_EmitsMmaSync_AndAssemblesWithPtxas(string type)
    {
        var entry = new IlgpuKernels.Entry(nameof(MmaTestKernels.OneMma), typeof(MmaTestKernels).GetMethod(nameof(MmaTestKernels.OneMma))!);
        foreach (var (arch, sm) in new[] { (CudaArchitecture.SM_80, "sm_80"), (CudaArchitecture.SM_90, "sm_90") })
        {
            string ptx = IlgpuPtx.Compile(entry, arch);
            Assert.Contains($"mma.sync.aligned.m16n8k16.row.col.f32.{type}.{type}.f32", ptx);
            PtxasGate.AssembleOrSkip(ptx, sm);
        }
    }

    // Registers of every lane from the PTX ISA formulas (§9.7.14.5.8): A row = g for a0,a1,a4,a5 else g+8, col = 2t + (i&1) (+8 for
    // i >= 4); B row = 2t + (i&1) (+8 for i >= 2), col = g; two elements per .b32 register, the lower index in the low half.
    internal static (uint[] A, uint[] B, float[] C) Pack(double[,] A, double[,] B, double[,] C, Precision p)
    {
        var a = new uint[128]; var b = new uint[64]; var c = new float[128];
        for (int lane = 0; lane < 32; lane++)
        {
            int g = lane >> 2, t = lane % 4;
            for (int i = 0; i < 8; i++)
            {
                int row = i < 2 || (4 <= i && i < 6) ? g : g + 8;
                int col = i < 4 ? t * 2 + (i & 1) : t * 2 + (i & 1) + 8;
                a[4 * lane + i / 2] |= Bits((float)A[row, col], p) << (16 * (i & 1));
            }
            for (int i = 0; i < 4; i++)
            {
                int row = i < 2 ? t * 2 + (i & 1) : t * 2 + (i & 1) + 8;
                b[2 * lane + i / 2] |= Bits((float)B[row, g], p) << (16 * (i & 1));
                var (cr, cc) = CFragment(lane, i);
                c[4 * lane + i] = (float)C[cr, cc];
            }
        }
        return (a, b, c);
    }

    internal static (int Row, int Col) CFragment(int lane, int i) => (i < 2 ? lane >> 2 : (lane >> 2) + 8, (lane % 4) * 2 + (i & 1));

    private static uint Bits(float x, Precision p) => p == Precision.Fp16
        ? BitConverter.HalfToUInt16Bits((System.Half)x)
        : BitConverter.SingleToUInt32Bits(PrecisionRounding.Round(x, p)) >> 16;
}

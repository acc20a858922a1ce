using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>
/// The three matmul layouts of an ILGPU backend vs the CPU backend at the same <see cref="Precision"/>: y = x·wᵀ into a
/// NaN-poisoned output, dx += dy·w and dw += dyᵀ·x onto random values (Accumulate). Both backends round the same
/// operands to the same bits (DeviceRounding_EqualsPrecisionRounding) and multiply them exactly in float32, so they
/// differ only by float32 summation in another order: each element by at most (terms + 1)·2^-24·(|c0| + Σ|ã·b̃|) per side.
/// An unrounded or wrongly rounded operand errs by ~2^-9 (bf16) or ~2^-12 (fp16) of Σ|a·b|, hundreds of times more.
/// </summary>
internal static class GemmVsCpu
{
    public static void Check(IBackend b, int m, int n, int k, Precision p, int seed)
    {
        using var cpu = new CpuBackend(1);
        var x = TestData.Uniform(seed, m * k, -2, 2); var w = TestData.Uniform(seed + 1, n * k, -2, 2); var dy = TestData.Uniform(seed + 2, m * n, -2, 2);
        var dx0 = TestData.Uniform(seed + 3, m * k); var dw0 = TestData.Uniform(seed + 4, n * k);
        var s = new GemmShape(m, n, k, p);
        float[] xr = Rounded(x, p), wr = Rounded(w, p), dyr = Rounded(dy, p);

        var y = b.Poisoned(m * n);
        b.MatMul(y, b.Up(x), b.Up(w), s);
        var yc = cpu.Up(new double[m * n]);
        cpu.MatMul(yc, cpu.Up(x), cpu.Up(w), s);
        Compare(b.Get(y), cpu.Get(yc), new double[m * n], m, n, k, (i, j, q) => xr[i * k + q] * wr[j * k + q], $"{p} y [{m}x{n}, k={k}]");

        var dx = b.Up(dx0); var dxc = cpu.Up(dx0);
        b.MatMulBackwardInput(dx, b.Up(dy), b.Up(w), s, WriteMode.Accumulate);
        cpu.MatMulBackwardInput(dxc, cpu.Up(dy), cpu.Up(w), s, WriteMode.Accumulate);
        Compare(b.Get(dx), cpu.Get(dxc), dx0, m, k, n, (i, j, q) => dyr[i * n + q] * wr[q * k + j], $"{p} dx [{m}x{k}, k={n}]");

        var dw = b.Up(dw0); var dwc = cpu.Up(dw0);
        b.MatMulBackwardWeight(dw, b.Up(dy), b.Up(x), s, WriteMode.Accumulate);
        cpu.MatMulBackwardWeight(dwc, cpu.Up(dy), cpu.Up(x), s, WriteMode.Accumulate);
        Compare(b.Get(dw), cpu.Get(dwc), dw0, n, k, m, (i, j, q) => dyr[q * n + i] * xr[q * k + j], $"{p} dw [{n}x{k}, k={m}]");
    }

    private static float[] Rounded(double[] x, Precision p) => TestData.ToFloat(x).Select(v => PrecisionRounding.Round(v, p)).ToArray();

    // C [rows, cols] = c0 + Σ_q term(i, j, q) over `inner` terms.
    private static void Compare(float[] got, float[] cpu, double[] c0, int rows, int cols, int inner, Func<int, int, int, double> term, string what)
    {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double mag = Math.Abs((double)(float)c0[i * cols + j]);
                for (int q = 0; q < inner; q++) mag += Math.Abs(term(i, j, q));
                double tol = 2 * (inner + 1) * Math.Pow(2, -24) * mag;
                float g = got[i * cols + j], r = cpu[i * cols + j];
                Assert.True(Math.Abs(g - r) <= tol, $"{what}: element ({i},{j}) {g:R} vs CPU {r:R}, |diff| {Math.Abs(g - r):E2} > {tol:E2}");
            }
    }
}

/// <summary>bf16/fp16 on the SIMT kernels (one thread per element, 8×8 shared-memory tiles): operands rounded while loading.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuPrecisionGemmTests(IlgpuFixture f)
{
    [Theory]
    [InlineData(false, Precision.Bf16, 5, 7, 9, 1)]
    [InlineData(false, Precision.Fp16, 13, 11, 17, 2)]
    [InlineData(true, Precision.Bf16, 13, 11, 17, 3)]   // crosses 8x8 tiles and 4-deep slices
    [InlineData(true, Precision.Fp16, 9, 17, 6, 4)]
    [InlineData(true, Precision.Bf16, 1, 9, 3, 5)]
    public void SimtKernels_RoundLikeTheCpuBackend(bool tiled, Precision p, int m, int n, int k, int seed)
    {
        var b = tiled ? f.Tiled : f.B;
        Assert.False(b.TensorCoreMatMul);
        GemmVsCpu.Check(b, m, n, k, p, seed);
    }
}

/// <summary>A simulated device with 32-lane warps and 64 threads per group: bf16/fp16 matmuls on the tensor-core kernel
/// (2 warps, 32×32 blocks, 16-deep slices) with the mma's warp-shuffle fallback.</summary>
public sealed class MmaSimulatorFixture : IDisposable
{
    public readonly IlgpuBackend B = IlgpuBackend.CreateCpuSimulator(warp: 32, warps: 2, mmaMatMul: true);
    public void Dispose() => B.Dispose();
}

/// <summary>
/// The tensor-core GEMM on the simulator at sizes crossing every edge: M, N, K not multiples of the 32×32 block, of 16 or
/// of 8, odd K (a half-filled k-pair), K below one 16-deep slice, several slices (double buffering), all three layouts,
/// both formats, Overwrite and Accumulate, vs the CPU backend; and the CUDA block (8 warps, 64×64) at CUDA's shapes.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuMmaGemmTests(MmaSimulatorFixture f, CudaShapeFixture cuda) : IClassFixture<MmaSimulatorFixture>, IClassFixture<CudaShapeFixture>
{
    [Theory]
    [InlineData(Precision.Bf16, 45, 37, 41, 1)]   // 2×2 blocks, 3 slices, ragged everywhere, odd K
    [InlineData(Precision.Fp16, 45, 37, 41, 2)]
    [InlineData(Precision.Bf16, 5, 3, 7, 3)]      // one partial block, K < one slice
    [InlineData(Precision.Fp16, 33, 40, 24, 4)]   // N a multiple of 8 not 16, K of 8 not 16, M one past a block
    public void Mma32_ThreeLayouts_MatchTheCpuBackend(Precision p, int m, int n, int k, int seed)
    {
        Assert.True(f.B.TensorCoreMatMul);
        GemmVsCpu.Check(f.B, m, n, k, p, seed);
    }

    [Fact]
    public void Mma64_CudaShapes_ThreeLayouts_MatchTheCpuBackend()
    {
        Assert.True(cuda.B.TensorCoreMatMul && cuda.B.CudaShapes);
        GemmVsCpu.Check(cuda.B, 40, 70, 18, Precision.Bf16, 5);   // y: every warp of a block stores; dx, dw: 5 and 3 slices
    }

    [Fact]
    public void Mma_IsDeterministic()
    {
        const int m = 20, n = 18, k = 35;
        var dy = f.B.Up(TestData.Uniform(7, m * n)); var x = f.B.Up(TestData.Uniform(8, m * k));
        float[] Run() { var dw = f.B.Alloc(n * k); f.B.MatMulBackwardWeight(dw, dy, x, new(m, n, k, Precision.Bf16), WriteMode.Overwrite); return f.B.Get(dw); }
        IlgpuHarness.SameBits(Run(), Run(), "dW");
    }

    [SkippableTheory]
    [InlineData("GemmMmaBf16", "bf16", "HMMA.16816.F32.BF16 ")]
    [InlineData("GemmMmaFp16", "f16", "HMMA.16816.F32 ")]
    public void GemmMma_RunsOnTensorCores_WithoutTheFallback(string kernel, string type, string hmma)
    {
        foreach (var tile in new[] { "GemmMmaTile64", "GemmMmaTile32" })
        {
            var ptx = IlgpuPtx.Compile(IlgpuKernels.All.Single(e => e.Name == $"{kernel}<{tile}>"), CudaArchitecture.SM_90);
            Assert.Contains($"mma.sync.aligned.m16n8k16.row.col.f32.{type}.{type}.f32", ptx);
            // CudaAsm.IsSupported folds to true on CUDA, so the shuffle fallback must be gone; each of the 4 fragment
            // products per slice is issued twice through CudaAsm.Emit (one .b64 output each) and ptxas must keep one HMMA.
            string sass = PtxasGate.SassOrSkip(ptx, "sm_90");
            int Count(string op) => sass.Split('\n').Count(l => l.Contains(op));
            Assert.Equal(4, Count(hmma));
            Assert.Equal(4, Count("HMMA"));
            Assert.Equal(0, Count("SHFL"));
        }
    }

    [Fact]
    public void SimulatorWithoutA32LaneWarp_RefusesTheMmaFlag()
    {
        var e = Assert.Throws<ArgumentException>(() => IlgpuBackend.CreateCpuSimulator(warp: 4, warps: 16, mmaMatMul: true));
        Assert.Contains("warps of 32", e.Message);
    }
}

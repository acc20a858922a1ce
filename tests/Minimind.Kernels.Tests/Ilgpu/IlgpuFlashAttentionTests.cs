using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>Simulated devices with 32-lane warps that run the bf16/fp16 tensor-core kernels through the mma fallback:
/// one warp per attention group, and CUDA's launch shapes (2 warps per group).</summary>
public sealed class TensorCoreFixture : IDisposable
{
    public readonly IlgpuBackend Warp1 = IlgpuBackend.CreateCpuSimulator(warp: 32, warps: 1, mmaAttention: true);
    public readonly IlgpuBackend Cuda = IlgpuBackend.CreateCpuSimulator(warp: 32, warps: 8, cudaShapes: true, mmaAttention: true);
    public void Dispose() { Warp1.Dispose(); Cuda.Dispose(); }
}

/// <summary>
/// The tensor-core flash attention (FlashAttentionForward / BackwardQuery / BackwardKeyValue, m16n8k16 fragments through
/// the warp-shuffle fallback) vs the CPU backend at the same precision, at lengths crossing every 16-query and 16-key
/// tile edge, head dims 16/32/64 (and a padded 24), GQA 1/2/4, batch 2 (each case ≤ ~15 s on the simulator). Same checks and tolerance as
/// <see cref="IlgpuAttentionPrecisionTests"/>: P and dS are fed to the mma as two rounded parts, so they carry 16 (bf16)
/// or 22 (fp16) significant bits; the remaining difference to the CPU's float32 P/dS is ≤ 2^-17 relative, inside
/// Tol = 1e-5 (feeding them rounded once is off by ~2^-9 and fails). On CUDA only the mma instruction itself differs.
/// </summary>
[Collection(IlgpuCollection.Name)]
public sealed class IlgpuFlashAttentionTests(TensorCoreFixture f) : IClassFixture<TensorCoreFixture>
{
    [Theory]
    [InlineData(Precision.Bf16, 1, 1, 2, 1, 16, 91)]    // T = 1: one row of 16, one key of 16
    [InlineData(Precision.Fp16, 1, 15, 2, 2, 16, 92)]   // T = 15: one short tile, GQA 1
    [InlineData(Precision.Bf16, 1, 17, 4, 1, 32, 93)]   // T = 17: crosses the 16-query and 16-key edges, GQA 4
    [InlineData(Precision.Fp16, 1, 33, 1, 1, 64, 94)]   // T = 33: three tiles, hd 64
    [InlineData(Precision.Bf16, 2, 17, 2, 1, 24, 95)]   // batch 2, GQA 2, hd 24 padded to 32
    public void ForwardBackward_OnTensorCores_MatchesCpu(Precision p, int batch, int T, int H, int Hkv, int hd, int seed)
    {
        Assert.True(f.Warp1.TensorCoreAttention);
        IlgpuAttentionPrecisionTests.CheckAttention(f.Warp1, new AttnShape(batch, T, H, Hkv, hd, p), seed);
    }

    [Fact]
    public void Backward_OnTensorCores_Accumulates() =>
        IlgpuAttentionPrecisionTests.CheckAttention(f.Warp1, new AttnShape(1, 17, 2, 1, 16, Precision.Fp16), 97, WriteMode.Accumulate);

    [Fact]
    public void ForwardBackward_OnTensorCores_CudaShapes_MatchesCpu() =>
        IlgpuAttentionPrecisionTests.CheckAttention(f.Cuda, new AttnShape(1, 33, 2, 1, 16, Precision.Bf16), 96);

    [Fact]
    public void FlashKernels_CarryTheMmaInstruction()
    {
        foreach (var e in IlgpuKernels.All.Where(e => e.Name.StartsWith("FlashAttention", StringComparison.Ordinal)))
        {
            string ptx = IlgpuPtx.Compile(e, ILGPU.Runtime.Cuda.CudaArchitecture.SM_80);
            Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", ptx);
            Assert.Contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", ptx);
        }
        foreach (var name in new[] { "FlashAttentionForward<FlashTile2>", "FlashAttentionBackwardQuery<FlashTile2>", "FlashAttentionBackwardKeyValue<FlashTile1>" })
            Assert.Contains(name, IlgpuKernels.All.Select(e => e.Name));
    }
}

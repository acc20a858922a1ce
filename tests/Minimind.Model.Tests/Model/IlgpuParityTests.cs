using Minimind.Kernels;
using Minimind.Kernels.Ilgpu;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Model;

/// <summary>
/// The same PyTorch comparison on the ILGPU kernels running on ILGPU's CPU simulator (slow, so the
/// smallest fixtures only). Looser bounds than the CPU backend: the kernels reduce in other orders.
/// </summary>
public sealed class IlgpuParityTests
{
    [Theory]
    [InlineData("minimind3-moe")]
    [InlineData("minimind2-dense")]
    public void LogitsLossAndGradients_MatchPyTorch_OnIlgpuSimulator(string name)
    {
        var fx = ModelFixture.Load(name);
        using var be = IlgpuBackend.CreateCpuSimulator();
        PyTorchParityTests.Check(fx, be, logitTol: 1e-4, gradTol: 1e-3);
    }

    [Theory]
    [InlineData(Precision.Bf16)]
    [InlineData(Precision.Fp16)]
    public void ReducedPrecision_MatchesTheCpuBackendAtTheSamePrecision_OnIlgpuSimulator(Precision p)
    {
        // Both backends round the same operands; only float32 summation orders differ, but such a difference can flip the
        // rounding of an activation fed to the next op by one 16-bit ulp (measured at fp16: one token row of the logits
        // moves by 1.7e-4 of the largest logit, every other row is bit-identical; bf16 gives identical logits). So the
        // bounds are one unit roundoff (logits) and two (gradients), and the CPU's fp32 result must be further away.
        var fx = ModelFixture.Load("minimind2-dense");
        // The SIMT kernels (the tensor-core ones are checked op by op: a model step on 32-lane warps takes ~100 s there).
        using var be = IlgpuBackend.CreateCpuSimulator();
        using var cpu = new Minimind.Kernels.Cpu.CpuBackend(1);
        var (logits, grads) = Run(fx, be, p);
        var (wantLogits, wantGrads) = Run(fx, cpu, p);
        var (fp32Logits, fp32Grads) = Run(fx, cpu, Precision.Fp32);
        double unit = p == Precision.Bf16 ? Math.ScaleB(1.0, -8) : Math.ScaleB(1.0, -11);
        double le = ModelFixture.RelErr(logits, wantLogits), ge = ModelFixture.RelErr(grads, wantGrads);
        Assert.True(le < unit, $"{p}: logits rel err {le:E2} vs the CPU backend");
        Assert.True(ge < 2 * unit, $"{p}: gradients rel err {ge:E2} vs the CPU backend");
        Assert.True(ModelFixture.RelErr(fp32Logits, wantLogits) > 2 * le, "the fp32 logits are about as close as the ILGPU ones: no rounding measured");
        Assert.True(ModelFixture.RelErr(fp32Grads, wantGrads) > 2 * ge, "the fp32 gradients are about as close as the ILGPU ones: no rounding measured");
    }

    private static (float[] Logits, float[] Grads) Run(ModelFixture fx, IBackend be, Precision p)
    {
        var batch = fx.Batch();
        using var model = MiniMindModel.Create(fx.Config, be, batch.BatchSize, batch.SeqLen);
        model.LoadStateDict(fx.Weights);
        model.Precision = p;
        var logits = model.Logits(batch.Inputs, batch.BatchSize, batch.SeqLen);
        model.ZeroGradients();
        model.ForwardBackward(batch, 1f);
        var grads = new float[model.Parameters.TotalElements];
        be.Download(model.Gradients, grads);
        return (logits, grads);
    }

    [Fact]
    public void HeadDimBeyondTheBackendLimit_IsRefusedAtConstruction_NamingTheLimitAndTheFields()
    {
        // minimind2-dense with 2 heads: head_dim 16 -> make it 256 by dim 512 / 2 heads; the CPU backend takes it.
        var c = ModelFixture.Load("minimind2-dense").Config with { Dim = 512, NHeads = 2, NKvHeads = 1 };
        using var be = IlgpuBackend.CreateCpuSimulator();
        var e = Assert.Throws<ArgumentException>(() => MiniMindModel.Create(c, be, 1, 8));
        Assert.Contains("head_dim 256 (dim 512 / n_heads 2) exceeds the ilgpu-cpu backend's limit of 128", e.Message);
        Assert.Contains("BackendLimits.MaxHeadDim", e.Message);
        using var cpu = new Minimind.Kernels.Cpu.CpuBackend(1);
        using var ok = MiniMindModel.Create(c, cpu, 1, 8);
    }

    [Fact]
    public void KvCacheGreedy_MatchesPyTorch_OnIlgpuSimulator()
    {
        var fx = ModelFixture.Load("minimind3-moe");
        using var be = IlgpuBackend.CreateCpuSimulator();
        var prompt = fx.I("prompt");
        using var model = MiniMindModel.Create(fx.Config, be, 1, prompt.Length + 32);
        model.LoadStateDict(fx.Weights);
        var greedy = new Sampler(new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 });
        Assert.Equal(fx.I("greedy"), TextGenerator.Generate(model, prompt, 32, greedy, eosId: -1).ToArray());
    }
}

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

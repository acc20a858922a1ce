using Minimind.Kernels.Ilgpu;

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
}

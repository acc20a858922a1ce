using Minimind.Kernels;
using Minimind.Kernels.Cpu;

namespace Minimind.Model.Tests.Model;

/// <summary>
/// The C# model against the PyTorch reference (tools/reference/minimind_ref.py, fixtures written by
/// make_fixtures.py) for every preset, dense and MoE, on the CPU backend: logits and loss to 1e-5
/// relative error, every parameter's gradient to 1e-4.
/// </summary>
public sealed class PyTorchParityTests
{
    public static IEnumerable<object[]> Fixtures() => ModelFixture.All();

    [Theory, MemberData(nameof(Fixtures))]
    public void ParameterTable_IsTheStateDictLayout(string name)
    {
        var fx = ModelFixture.Load(name);
        var layout = new ParameterLayout(fx.Config);
        Assert.Equal(fx.Weights.Keys, layout.Table.Entries.Select(e => e.Name));
        foreach (var e in layout.Table.Entries) Assert.Equal(fx.Weights[e.Name].Shape, e.Shape);
        // owners follow model.parameters() order, which is the order of the grad/ keys PyTorch wrote
        var gradKeys = fx.Expected.Keys.OfType<string>().Where(k => k.StartsWith("grad/")).Select(k => k[5..]);
        Assert.Equal(gradKeys, layout.Table.Owners.Select(e => e.Name));
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void LogitsLossAndGradients_MatchPyTorch(string name)
    {
        var fx = ModelFixture.Load(name);
        using var be = new CpuBackend();
        Check(fx, be, logitTol: 1e-5, gradTol: 1e-4);
    }

    internal static void Check(ModelFixture fx, IBackend be, double logitTol, double gradTol)
    {
        var batch = fx.Batch();
        using var model = MiniMindModel.Create(fx.Config, be, batch.BatchSize, batch.SeqLen);
        var report = model.LoadStateDict(fx.Weights);
        Assert.True(report.IsComplete, report.ToString());

        var logits = model.Logits(batch.Inputs, batch.BatchSize, batch.SeqLen);
        double le = ModelFixture.RelErr(logits, fx.F("logits"));
        Assert.True(le < logitTol, $"{fx.Name}: logits rel err {le:E2}");

        float ceRef = fx.F("loss")[0], auxRef = fx.F("aux")[0];
        var (ce, aux) = model.ForwardLossParts(batch);
        Assert.True(Math.Abs(ce - ceRef) / Math.Abs(ceRef) < logitTol, $"{fx.Name}: CE {ce} vs {ceRef}");
        Assert.True(Math.Abs(aux - auxRef) <= logitTol * Math.Max(Math.Abs(auxRef), 1e-3), $"{fx.Name}: aux {aux} vs {auxRef}");

        model.ZeroGradients();
        float loss = model.ForwardBackward(batch, 1f);
        Assert.True(Math.Abs(loss - (ceRef + auxRef)) / (ceRef + auxRef) < logitTol, $"{fx.Name}: loss {loss} vs {ceRef + auxRef}");
        var grads = new float[model.Parameters.TotalElements];
        be.Download(model.Gradients, grads);
        foreach (var e in model.Parameters.Owners)
        {
            var want = fx.F("grad/" + e.Name);
            var got = grads.AsSpan((int)e.Offset, (int)e.Numel);
            double ge = ModelFixture.RelErr(got, want);
            Assert.True(ge < gradTol, $"{fx.Name}: grad of {e.Name} rel err {ge:E2}");
        }
    }
}

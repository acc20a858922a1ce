using Minimind.Kernels.Cpu;

namespace Minimind.Model.Tests.Model;

/// <summary>
/// The model's analytic gradient against central differences of its own loss, independent of PyTorch.
/// </summary>
public sealed class FiniteDifferenceTests
{
    // Central differences along a unit direction u: (L(θ+εu) − L(θ−εu)) / 2ε = ∇L·u + O(ε²).
    // The loss (≈20 here) is float32, so each evaluation carries ~20·6e-8 ≈ 1.2e-6 of rounding; with ε = 1e-2 that is
    // ~1e-4 absolute on the quotient, and the O(ε²) truncation term stays below ~1e-4 for these smooth (dense) models,
    // while the directional derivatives checked are O(1)–O(10): a 2 % relative bound leaves a wide margin for both.
    [Theory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind-v1-dense")]
    public void Gradient_MatchesCentralDifferences(string name)
    {
        var fx = ModelFixture.Load(name);
        using var be = new CpuBackend();
        var batch = fx.Batch();
        using var model = MiniMindModel.Create(fx.Config, be, batch.BatchSize, batch.SeqLen);
        model.LoadStateDict(fx.Weights);
        model.ZeroGradients();
        model.ForwardBackward(batch, 1f);
        long n = model.Parameters.TotalElements;
        var theta = new float[n];
        var grad = new float[n];
        be.Download(model.Weights, theta);
        be.Download(model.Gradients, grad);

        // directions: the whole gradient, and the gradient restricted to a few individual tensors
        var dirs = new List<(string what, double[] u)> { ("all", Restrict(grad, 0, n)) };
        foreach (var key in model.Parameters.Owners.Where((e, i) => i % 5 == 0))
            dirs.Add((key.Name, Restrict(grad, key.Offset, key.Numel)));
        const double eps = 1e-2;
        foreach (var (what, u) in dirs)
        {
            double analytic = 0;
            for (long i = 0; i < n; i++) analytic += grad[i] * u[i];
            if (analytic < 1e-3) continue; // a tensor with (almost) no gradient says nothing here
            double Loss(double sign)
            {
                var p = new float[n];
                for (long i = 0; i < n; i++) p[i] = (float)(theta[i] + sign * eps * u[i]);
                be.Upload(model.Weights, p);
                return model.ForwardLoss(batch);
            }
            double fd = (Loss(+1) - Loss(-1)) / (2 * eps);
            Assert.True(Math.Abs(fd - analytic) <= 0.02 * Math.Abs(analytic),
                $"{name}: direction '{what}': finite difference {fd:G6} vs analytic {analytic:G6}");
        }
        be.Upload(model.Weights, theta);
    }

    private static double[] Restrict(float[] g, long offset, long count)
    {
        var u = new double[g.Length];
        double norm = 0;
        for (long i = offset; i < offset + count; i++) norm += (double)g[i] * g[i];
        norm = Math.Sqrt(norm);
        if (norm == 0) return u;
        for (long i = offset; i < offset + count; i++) u[i] = g[i] / norm;
        return u;
    }
}

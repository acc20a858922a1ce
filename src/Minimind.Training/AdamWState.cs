using Minimind.Kernels;

namespace Minimind.Training;

/// <summary>
/// torch.optim.AdamW over a model's flat parameter buffer: first and second moments in two flat
/// buffers of the same layout, one step counter (every parameter steps together, so torch's per-parameter
/// 'step' values are all equal). Defaults are torch's: betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
/// </summary>
public sealed class AdamWState : IDisposable
{
    private readonly IBackend _backend;

    /// <summary>First moments (exp_avg), flat, laid out like the weights.</summary>
    public Tensor M { get; }
    /// <summary>Second moments (exp_avg_sq), flat, laid out like the weights.</summary>
    public Tensor V { get; }
    /// <summary>Optimizer steps taken (torch's state['step']).</summary>
    public long Step { get; set; }
    /// <summary>β1.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>β2.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>ε.</summary>
    public float Eps { get; init; } = 1e-8f;
    /// <summary>Decoupled weight decay.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Allocates zeroed moments for <paramref name="length"/> parameters.</summary>
    public AdamWState(IBackend backend, long length)
    {
        _backend = backend;
        M = backend.Alloc(length);
        V = backend.Alloc(length);
    }

    /// <summary>One AdamW step at learning rate <paramref name="lr"/>; gradients are multiplied by <paramref name="gradScale"/> first (clipping).</summary>
    public void Apply(Tensor weights, Tensor grads, float lr, float gradScale)
    {
        Step++;
        _backend.AdamW(weights, grads, M, V, lr, Beta1, Beta2, Eps, WeightDecay, Step, gradScale);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        M.Buffer.Dispose();
        V.Buffer.Dispose();
    }
}

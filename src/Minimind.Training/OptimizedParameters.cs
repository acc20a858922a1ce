using Minimind.Kernels;

namespace Minimind.Training;

/// <summary>
/// One flat parameter buffer, its gradients and its AdamW (a torch optimizer over one model): what a stage that takes
/// its own optimizer steps (<see cref="Stages.IOptimizingStage"/>: PPO's actor and critic) steps, each on its own
/// schedule — clip_grad_norm_ over this buffer alone, AdamW, zero_grad.
/// </summary>
public sealed class OptimizedParameters
{
    private readonly IBackend _backend;

    /// <summary>The buffer <paramref name="adam"/> updates from <paramref name="gradients"/>, clipped to <paramref name="gradClip"/> (0 = off).</summary>
    public OptimizedParameters(IBackend backend, Tensor weights, Tensor gradients, AdamWState adam, double gradClip)
    {
        _backend = backend; Weights = weights; Gradients = gradients; Adam = adam; GradClip = gradClip;
    }

    /// <summary>The parameters.</summary>
    public Tensor Weights { get; }
    /// <summary>Their gradients (the backward adds into them).</summary>
    public Tensor Gradients { get; }
    /// <summary>The optimizer; its step counts the updates taken (the schedule's position).</summary>
    public AdamWState Adam { get; }
    /// <summary>clip_grad_norm_'s max norm (0 = off).</summary>
    public double GradClip { get; }

    /// <summary>Σg² of the gradients (the norm before clipping is its square root).</summary>
    public double SumOfSquares() => _backend.SumOfSquares(Gradients);

    /// <summary>clip_grad_norm_ (given the gradients' <paramref name="sumOfSquares"/>), AdamW at <paramref name="lr"/>, then zero_grad.</summary>
    public void Step(double lr, double sumOfSquares)
    {
        Adam.Apply(Weights, Gradients, (float)lr, Training.GradClip.Coefficient(sumOfSquares, GradClip));
        ZeroGrad();
    }

    /// <summary>Zeroes the gradients (an update skipped, or before the first backward).</summary>
    public void ZeroGrad() => _backend.Fill(Gradients, 0f);
}

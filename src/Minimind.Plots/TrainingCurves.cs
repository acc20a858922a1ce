namespace Minimind.Plots;

/// <summary>
/// What one run's training chart shows, already on the chosen x axis (steps, tokens or seconds): the loss of each
/// logged step, the learning rate and gradient norm at those steps, validation loss and RL reward where the run
/// logged them, and the x of every skipped (non-finite) update.
/// </summary>
public sealed record TrainingCurves
{
    /// <summary>Chart title: run name, architecture, dtype.</summary>
    public required string Title { get; init; }
    /// <summary>x axis label ("optimizer step", "tokens trained on", "training time (s)").</summary>
    public required string XLabel { get; init; }
    /// <summary>True when x counts whole things (steps, tokens): integer ticks.</summary>
    public bool IntegerX { get; init; } = true;
    /// <summary>Training loss per logged step.</summary>
    public Curve Loss { get; init; } = Curve.Empty;
    /// <summary>Learning rate per logged step (drawn on the right axis).</summary>
    public Curve LearningRate { get; init; } = Curve.Empty;
    /// <summary>Gradient norm per logged step.</summary>
    public Curve GradNorm { get; init; } = Curve.Empty;
    /// <summary>Validation loss, when the run evaluated.</summary>
    public Curve ValidationLoss { get; init; } = Curve.Empty;
    /// <summary>The gradient-norm clip threshold (--grad-clip), drawn on the grad-norm panel; 0 = none.</summary>
    public double GradClip { get; init; }
    /// <summary>Mean reward per step (RL stages).</summary>
    public Curve Reward { get; init; } = Curve.Empty;
    /// <summary>x of every update that was skipped.</summary>
    public IReadOnlyList<double> Skipped { get; init; } = Array.Empty<double>();
}

namespace Minimind.Training;

/// <summary>What one optimizer step gives back (the same on every rank).</summary>
/// <param name="Loss">Mean loss over the step's micro-batches.</param>
/// <param name="GradNorm">Global gradient norm before clipping (+∞ when fp16 gradients overflowed).</param>
/// <param name="StopAny">True when any rank asked to stop.</param>
public readonly record struct StepResult(float Loss, double GradNorm, bool StopAny)
{
    /// <summary>The MoE aux-loss part of <see cref="Loss"/> over this rank's micro-batches (0 for a dense model).</summary>
    public float AuxLoss { get; init; }
}

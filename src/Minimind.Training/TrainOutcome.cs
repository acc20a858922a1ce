namespace Minimind.Training;

/// <summary>How a <see cref="TrainLoop.Run"/> ended.</summary>
public enum TrainOutcome
{
    /// <summary>Every step was taken (or --max-steps reached).</summary>
    Finished,
    /// <summary>Stopped by a signal after writing a checkpoint.</summary>
    Stopped,
    /// <summary>Stopped by the <see cref="DivergenceGuard"/>; <see cref="Trainer.DivergedReason"/> says why. The newest checkpoint is the last good one.</summary>
    Diverged,
}

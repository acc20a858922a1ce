namespace Minimind.Training.Rl.Logging;

/// <summary>
/// An RL stage whose rollouts the rollout log (<c>--log-rollouts</c>) and MiniMind's debug print (<c>--debug-mode</c>)
/// read: once <see cref="KeepRollouts"/> is set, the stage keeps each trained micro-batch's rollouts (not those of a
/// forward-only check) until the loop takes them after the step with <see cref="TakeStepRollouts"/>.
/// </summary>
public interface IRolloutSource
{
    /// <summary>Whether the stage keeps its rollouts for <see cref="TakeStepRollouts"/> (off: nothing is kept).</summary>
    bool KeepRollouts { get; set; }

    /// <summary>The rollouts of this rank's micro-batches of the step just taken, in micro-batch order; clears them.</summary>
    IReadOnlyList<RolloutBatchRecord> TakeStepRollouts();

    /// <summary>Which of MiniMind's scripts' debug prints <c>--debug-mode</c> reproduces.</summary>
    RolloutConsoleForm ConsoleForm { get; }
}

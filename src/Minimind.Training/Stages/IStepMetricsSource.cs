using Minimind.Kernels.Distributed;

namespace Minimind.Training.Stages;

/// <summary>
/// A stage that measures more per optimizer step than the loop does (the RL stages: reward, KL, clip fraction, rollout
/// throughput). The loop takes the step's values once after each step and the metrics log, the progress line and
/// TensorBoard report them beside loss, lr and grad-norm.
/// </summary>
public interface IStepMetricsSource
{
    /// <summary>
    /// The values of the step just taken, in a fixed order; resets them for the next step. Every rank of
    /// <paramref name="comm"/> calls it after each step: rank 0 gets the values over every rank's micro-batches, in
    /// micro-batch order (what one process taking the same micro-batches reports); the others may get their own.
    /// </summary>
    IReadOnlyList<KeyValuePair<string, double>> TakeStepMetrics(ICommunicator comm);

    /// <summary>The names <see cref="TakeStepMetrics"/> returns that the progress line shows (the others go to the logs only).</summary>
    IReadOnlyList<string> ConsoleMetrics { get; }
}

using Minimind.Model;

namespace Minimind.Training.Stages;

/// <summary>
/// A stage whose one loop step is several optimizer steps of its own — PPO: one rollout batch, then update epochs over
/// its minibatches, each stepping the actor (the trained buffer) and a critic beside it on their own schedules, as
/// train_ppo.py's inner loop does. The <see cref="Trainer"/> hands such a stage its micro-batch and the trained buffer's
/// optimizer instead of summing gradients and applying AdamW itself; everything else of the loop (data order, counters,
/// the divergence guard's verdict on the step, checkpoints, exact resume, metrics) is the same as every stage's. Such a
/// stage runs one micro-batch per loop step on one process.
/// </summary>
public interface IOptimizingStage
{
    /// <summary>
    /// Trains on <paramref name="batch"/>, stepping <paramref name="trained"/> (the stage's <see cref="ITrainingStage.Weights"/>,
    /// gradients zero on entry, left zero) and its own optimizers; <paramref name="totalSteps"/> is the loop's schedule
    /// length. Returns the step's mean loss, a gradient norm (+∞ when an update was skipped for a non-finite value) and
    /// the MoE aux part.
    /// </summary>
    StepResult TrainStep(Batch batch, OptimizedParameters trained, long totalSteps);
}

using Minimind.Kernels;
using Minimind.Model;
using Minimind.Training.Distributed;

namespace Minimind.Training.Stages;

/// <summary>
/// A stage whose one loop step is several optimizer steps of its own — PPO: one rollout batch, then update epochs over
/// its minibatches, each stepping the actor (the trained buffer) and a critic beside it on their own schedules, as
/// train_ppo.py's inner loop does. The <see cref="Trainer"/> hands such a stage the step's micro-batches of this rank,
/// the data-parallel ranks and the trained buffer's optimizer instead of summing gradients and applying AdamW itself;
/// everything else of the loop (data order, counters, the divergence guard's verdict on the step, checkpoints, exact
/// resume, metrics) is the same as every stage's. Each of the stage's updates sums its gradients over the step's
/// micro-batches through <see cref="DataParallel.StepGathered"/>, so W ranks × A micro-batches equal one process × W·A.
/// </summary>
public interface IOptimizingStage
{
    /// <summary>Gradient buffers besides the trained one that the stage's updates sum over the ranks (PPO: the critic's), in a fixed order.</summary>
    IReadOnlyList<Tensor> OwnGradients { get; }

    /// <summary>
    /// Trains on <paramref name="mine"/> (this rank's micro-batches of a step that has <paramref name="available"/> over
    /// all ranks; none on a rank past the epoch's ragged end), stepping <paramref name="trained"/> (the stage's
    /// <see cref="ITrainingStage.Weights"/>, gradients zero on entry, left zero) and its own optimizers, with
    /// <paramref name="parallel"/> (built over the trained buffer's gradients then <see cref="OwnGradients"/>) summing every
    /// update's gradients; <paramref name="totalSteps"/> is the loop's schedule length. Returns, identical on every rank,
    /// the step's mean loss, a gradient norm (+∞ when an update was skipped for a non-finite value) and the MoE aux part.
    /// </summary>
    StepResult TrainStep(IReadOnlyList<Batch> mine, int available, DataParallel parallel, OptimizedParameters trained, long totalSteps);
}

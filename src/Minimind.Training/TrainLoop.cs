using Minimind.Training.Checkpointing;
using Minimind.Training.Distributed;
using Minimind.Training.Stages;

namespace Minimind.Training;

/// <summary>
/// The training loop of every stage, read top to bottom as nanoGPT's train.py: the schedule gives the step's learning
/// rate, the step takes its micro-batches (<see cref="Trainer.TrainStepAt"/>: forward/backward, gradients over the
/// ranks, the guard's verdict, clip, AdamW), the counters and the progress line follow, the guard may end the run,
/// the held-out loss and samples are taken when due (<see cref="TrainingEvaluation"/>), an RL stage's rollouts are logged
/// (<see cref="Rl.Logging.RolloutLog"/>), and the <see cref="Checkpointer"/> saves when a save is due.
/// </summary>
public static class TrainLoop
{
    /// <summary>
    /// Trains <paramref name="run"/> until the schedule ends or <paramref name="stop"/> fires; saves every
    /// --save-interval steps, at the end and on a stop. Prints a progress line per --log-interval and appends metrics.
    /// <paramref name="resumed"/>: the run was loaded from a checkpoint (the metrics log continues it, the first batch is checked).
    /// </summary>
    public static TrainOutcome Run(Trainer run, StopSignal? stop, bool resumed)
    {
        var o = run.Options;
        var state = run.State;
        var checkpointer = run.Checkpointer;
        Directory.CreateDirectory(run.Paths.CheckpointRoot);
        var guard = run.Guard = new DivergenceGuard(state.Losses, o.MaxBadSteps, o.LossSpike);
        // Rank 0 alone prints, writes metrics and checkpoints; the others compute and wait at the commit point.
        bool root = run.Parallel.IsRoot;
        using var progress = root ? new TrainProgress(run.Log, run.Paths.MetricsPath, o.LogInterval, resumed, state.OptimizerStep, state.TotalSteps,
            state.TokensSeen, run.Stage.Backend.Name, o.TensorBoardDir) : null;
        if (progress is not null && run.Parallel.WorldSize > 1) progress.Suffix = DistributedProgress.Suffix(run.Parallel);
        if (run.DataChangedFrom is { } was)
            progress?.Event("data_change", state.OptimizerStep, new("from_data", was.Description), new("from_data_hash", was.Hash),
                new("data", state.DataDescription), new("data_hash", state.DataHash));
        if (resumed && root && !run.IsDone) ResumeLoader.CheckFirstBatch(run);

        while (!run.IsDone)
        {
            // The schedule: the learning rate of the step about to be taken.
            long step = state.OptimizerStep + 1;
            double lr = LrSchedule.At(o.Schedule, step, state.TotalSteps, o.LearningRate);

            // The step: micro-batch g is global index MicroStepInEpoch + g whatever the world size; this rank takes its block.
            int available = run.MicroBatchesAt(state.MicroStepInEpoch);
            int epoch = state.Epoch;
            long firstMicro = state.MicroStepInEpoch + run.Parallel.MyMicroBatches(available).First; // this rank's, for the rollout log
            StepResult r;
            // A save awaiting its resume check gets it from this step's first forward, before the update: a refusal
            // ends the run at the saved step, whose weights are still the model's (see Checkpointer).
            try { r = run.TrainStepAt(epoch, state.MicroStepInEpoch, lr, stop?.StopRequested == true); }
            catch (TrainingDivergedException e) { return Diverged(run, progress, state.OptimizerStep, e.Message); }
            run.Record(step, available, r);
            var metrics = run.Stage as IStepMetricsSource;
            var extra = metrics?.TakeStepMetrics(run.Parallel.Comm);
            progress?.Step(new StepReport(step, run.StopStep, state.Epoch, state.Epochs, r.Loss, lr, r.GradNorm, state.TokensSeen) { AuxLoss = r.AuxLoss, Extra = extra, ConsoleExtra = metrics?.ConsoleMetrics }, run.IsDone);

            // The guard: a skipped update is recorded; a stop leaves the newest checkpoint as the last good one.
            if (!guard.LastAccepted) progress?.Event("skipped", step);
            if (guard.StopReason is { } reason) return Diverged(run, progress, step, reason);

            // Validation and samples when due: forwards only, after the update, so the trained bits are unchanged.
            run.Evaluation?.AfterStep(state, step, run.IsDone, run.Parallel.Comm, root, progress);
            // The step's rollouts (RL stages), before its checkpoint: a resume finds every saved step in the log.
            run.Rollouts?.AfterStep(step, epoch, firstMicro);

            // Maybe save: every --save-interval steps, at the end, on a stop, or after a postponed save. A background
            // write that has ended is reported first; its failure stops the run here.
            checkpointer.CollectWrite(progress);
            if (checkpointer.IsDue(step, run.IsDone, r.StopAny))
            {
                progress?.ClearLine();
                try { checkpointer.SaveUnlessSkipped(guard, progress, last: run.IsDone || r.StopAny); }
                catch (TrainingDivergedException e) { return Diverged(run, progress, step, e.Message); }
            }
            run.AfterStep?.Invoke(step);
            if (r.StopAny && !run.IsDone)
            {
                progress?.Event("stop", step);
                return TrainOutcome.Stopped;
            }
        }
        progress?.Event("end", state.OptimizerStep);
        return TrainOutcome.Finished;
    }

    private static TrainOutcome Diverged(Trainer run, TrainProgress? progress, long step, string reason)
    {
        run.DivergedReason = reason;
        run.Checkpointer.WaitForWrite(progress); // the newest checkpoint, reported, is the last good one
        progress?.Event("diverged", step);
        return TrainOutcome.Diverged;
    }
}

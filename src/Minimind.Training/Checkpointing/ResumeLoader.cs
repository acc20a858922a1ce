using Minimind.Checkpoint.Resume;
using Minimind.Kernels;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// Continues a run: from our step folders (the newest that verifies, or a named one) or from MiniMind's own
/// <c>*_resume.pth</c>. A step folder is loaded only into the run that wrote it — the same architecture and stage
/// setup, data, batch size and micro-batches per step — and every component of the run is restored from it.
/// </summary>
public static class ResumeLoader
{
    /// <summary>
    /// <c>--resume-from PATH</c> (a step folder or a MiniMind file) when <paramref name="from"/> is given, else with
    /// <paramref name="latest"/> (<c>--resume</c>) the newest folder that verifies. Returns true when the run was resumed.
    /// </summary>
    public static bool Load(Trainer run, bool latest, string? from)
    {
        if (from is not null)
        {
            if (Directory.Exists(from)) LoadFolder(run, from);
            else if (File.Exists(from)) LoadMinimindFile(run, from);
            else throw new FileNotFoundException($"--resume-from {from}: no such folder or file", from);
            return true;
        }
        if (!latest) return false;
        if (TryLatest(run)) return true;
        run.Log.WriteLine($"--resume: no complete checkpoint in {run.Paths.CheckpointRoot}; starting a fresh run");
        return false;
    }

    /// <summary>
    /// Loads the newest resume-state folder that verifies (damaged newer ones are reported and skipped).
    /// Returns false when there is none. Throws when the checkpoint's architecture or data differ.
    /// </summary>
    public static bool TryLatest(Trainer run)
    {
        var c = ResumeStore.FindNewestValid(run.Paths.CheckpointRoot, msg => run.Log.WriteLine("warning: " + msg));
        if (c is null) return false;
        LoadFolder(run, c.Path);
        return true;
    }

    /// <summary>Loads one resume-state folder (verifies it first) into every component of <paramref name="run"/> and its counters.</summary>
    public static void LoadFolder(Trainer run, string dir)
    {
        var log = run.Log;
        var o = run.Options;
        var s = ResumeStateFolder.ReadState(dir);
        var diffs = ArchSignature.Differences(s.Arch, run.Signature());
        if (diffs.Count > 0)
            throw new ArgumentException($"checkpoint {dir} was trained with a different architecture or stage setup, refusing to resume: {string.Join("; ", diffs)}");
        if (s.DataCount != run.Stage.Count || s.SeqLen != run.Stage.SeqLen)
            throw new ArgumentException($"checkpoint {dir} was trained on {s.DataCount} samples of {s.SeqLen} tokens ({s.DataDescription}); the current data has {run.Stage.Count} of {run.Stage.SeqLen}: the data order would not continue. Use the same --data and --max-seq-len");
        if (s.BatchSize != o.BatchSize)
            throw new ArgumentException($"checkpoint {dir} used --batch-size {s.BatchSize}; this run asks for {o.BatchSize}");
        KeepMicroBatchesPerStep(run, dir, s);
        if (s.Seed != o.Seed)
            log.WriteLine($"note: continuing the checkpoint's data order (seed {s.Seed}); --seed {o.Seed} is ignored on resume");
        string device = run.Stage.Backend.Name;
        if (s.Device != device)
            log.WriteLine($"note: checkpoint written on device '{s.Device}', continuing on '{device}': results stay correct but are no longer bit-identical to an uninterrupted run");
        run.ModelState.LoadFrom(dir);
        foreach (var c in run.Stage.CheckpointStates) c.LoadFrom(dir);
        run.Adam.Step = s.AdamStep;
        if (s.Dtype != o.Dtype.Name())
            log.WriteLine($"note: checkpoint trained with --dtype {s.Dtype}, continuing with {o.Dtype.Name()}: no longer bit-identical to an uninterrupted run");
        if (run.Scaler.Enabled && s.Dtype == Precision.Fp16.Name()) run.Scaler.Restore(s.ScalerScale, s.ScalerGrowthTracker);
        s.Dtype = o.Dtype.Name(); s.ScalerScale = run.Scaler.Scale; s.ScalerGrowthTracker = run.Scaler.GrowthTracker;
        // The learning rate, clip and epochs of the resumed run are the ones it started with (the schedule is fixed).
        s.Epochs = s.Epochs > 0 ? s.Epochs : o.Epochs;
        if (o.MaxSteps is { } ms && ms > s.TotalSteps)
            log.WriteLine($"note: the schedule was fixed at {s.TotalSteps} steps when the run started; --max-steps {ms} cannot extend it");
        run.Adopt(s);
        log.WriteLine($"resumed from {dir}: step {s.OptimizerStep}/{s.TotalSteps}, epoch {s.Epoch + 1}, batch {s.MicroStepInEpoch} of {run.MicroBatchesPerEpoch}, {s.TokensSeen:N0} tokens seen");
    }

    /// <summary>Continues a run saved by MiniMind's PyTorch trainer (<c>*_resume.pth</c>); see <see cref="MinimindResumeFile"/>.</summary>
    public static void LoadMinimindFile(Trainer run, string path)
    {
        var log = run.Log;
        var state = run.State;
        int worldSize = run.Parallel.WorldSize;
        var r = MinimindResumeFile.Read(path, run.Stage.Parameters, log);
        var backend = run.Stage.Backend;
        backend.Upload(run.Stage.Weights, r.Weights);
        backend.Upload(run.Adam.M, r.M);
        backend.Upload(run.Adam.V, r.V);
        run.Adam.Step = r.AdamStep;
        if (r.Scaler is { } sc) run.Scaler.LoadStateDict(sc, path);
        state.ScalerScale = run.Scaler.Scale; state.ScalerGrowthTracker = run.Scaler.GrowthTracker;
        long step = r.Step;
        if (r.WorldSize != worldSize)
        {
            // MiniMind's rule (trainer_utils.lm_checkpoint): the per-rank step scales by saved/current world size.
            step = step * r.WorldSize / worldSize;
            log.WriteLine($"world size changed ({r.WorldSize} -> {worldSize}): step in epoch rescaled from {r.Step} to {step}");
        }
        state.Epoch = r.Epoch;
        // MiniMind's step counts one rank's batches: the job had consumed step × world-size micro-batches of the epoch.
        state.MicroStepInEpoch = Math.Min(step * worldSize, run.MicroBatchesPerEpoch);
        if (state.MicroStepInEpoch >= run.MicroBatchesPerEpoch) { state.Epoch++; state.MicroStepInEpoch = 0; }
        state.OptimizerStep = Math.Min(r.AdamStep, state.TotalSteps);
        state.AdamStep = r.AdamStep;
        state.WorldSize = worldSize;
        state.NextBatchLoss = float.NaN;
        state.MicroBatchesPerStep = run.Parallel.MicroBatchesPerStep;
        log.WriteLine($"resumed from MiniMind file {path}: epoch {r.Epoch + 1}, step {r.Step}, AdamW step {r.AdamStep}; the data order from here on is this trainer's (seeded per-epoch shuffle, G = {run.Parallel.MicroBatchesPerStep} micro-batches per step), not torch's DistributedSampler");
    }

    /// <summary>The resume check, before the first step after a resume: the first batch's loss under the restored weights,
    /// against the value recorded at save time (nothing when the checkpoint recorded none).</summary>
    public static void CheckFirstBatch(Trainer run)
    {
        var s = run.State;
        if (float.IsNaN(s.NextBatchLoss)) return;
        float check = run.NextBatchLoss();
        bool same = BitConverter.SingleToInt32Bits(check) == BitConverter.SingleToInt32Bits(s.NextBatchLoss);
        run.Log.WriteLine($"resume check: first batch loss {check:F6}, recorded at save {s.NextBatchLoss:F6} -> {(same ? "identical" : $"DIFFERENT by {check - s.NextBatchLoss:E2}")}");
    }

    // G is the run's identity: a resume at world size M continues with --accumulation-steps G/M, or refuses.
    private static void KeepMicroBatchesPerStep(Trainer run, string dir, TrainingState s)
    {
        int g = s.MicroBatchesPerStep > 0 ? s.MicroBatchesPerStep : s.AccumulationSteps * Math.Max(1, s.WorldSize);
        var dp = run.Parallel;
        int w = dp.WorldSize;
        if (g % w != 0)
            throw new ArgumentException($"checkpoint {dir} takes G = {g} micro-batches per optimizer step (saved with world size {s.WorldSize} x --accumulation-steps {s.AccumulationSteps}); world size {w} does not divide {g}, so the run cannot continue unchanged. Resume with a number of ranks that divides {g}");
        if (g / w != dp.PerRank)
        {
            run.Log.WriteLine($"note: keeping the checkpoint's G = {g} micro-batches per step: --accumulation-steps becomes {g / w} on {w} rank(s) (saved: {s.AccumulationSteps} on {s.WorldSize})");
            run.UseMicroBatchesPerRank(g / w);
        }
        s.AccumulationSteps = g / w;
        s.WorldSize = w;
        s.MicroBatchesPerStep = g;
    }
}

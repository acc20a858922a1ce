using System.Globalization;
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
        RefuseOtherArchitecture(run);
        run.Log.WriteLine($"--resume: no complete checkpoint in {run.Paths.CheckpointRoot}; starting a fresh run");
        return false;
    }

    // The checkpoint folder's name holds the width (pretrain_64): a --resume whose flags give another architecture looks in
    // another folder. When a run of the same --save-weight exists beside it, a fresh start would silently begin a new model.
    private static void RefuseOtherArchitecture(Trainer run)
    {
        var parent = Path.GetDirectoryName(run.Paths.CheckpointRoot)!;
        if (!Directory.Exists(parent)) return;
        string prefix = run.Options.SaveWeight + "_";
        foreach (var other in Directory.EnumerateDirectories(parent, prefix + "*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(other);
            if (!System.Text.RegularExpressions.Regex.IsMatch(name[prefix.Length..], @"^\d+(_moe)?$") || Path.GetFullPath(other) == Path.GetFullPath(run.Paths.CheckpointRoot)) continue;
            if (ResumeStore.FindNewestValid(other) is not { } c) continue;
            var saved = ResumeStateFolder.ReadState(c.Path);
            var diffs = ArchSignature.Differences(saved.Arch, run.Signature());
            throw new ArgumentException($"--resume: {run.Paths.CheckpointRoot} holds no checkpoint, but {other} holds a run of --save-weight {run.Options.SaveWeight} " +
                $"(step {saved.OptimizerStep}) with another architecture: {string.Join("; ", diffs)}. Resume it with the flags it was trained with " +
                "(the checkpoint's values above), or start a new run with another --out-dir or --save-weight");
        }
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
        CheckSameData(run, dir, s);
        KeepMicroBatchesPerStep(run, dir, s);
        ReportChangedSettings(run, s);
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
        // The schedule's length and the epochs are the ones the run started with.
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
        var r = MinimindResumeFile.Read(path, run.Stage.Parameters, log, run.Stage.Config);
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

    // The rows must be the ones the run was trained on, in the same order (the hash covers both): other data would
    // continue a different run under the same name. --allow-data-change continues deliberately, and says so in the metrics.
    private static void CheckSameData(Trainer run, string dir, TrainingState s)
    {
        var now = run.State;
        if (s.DataHash.Length == 0)
        {
            run.Log.WriteLine($"note: checkpoint {dir} records no data hash (written before it was recorded): the data is checked by its size only");
            s.DataHash = now.DataHash;
            return;
        }
        if (s.DataHash == now.DataHash) return;
        if (!run.Options.AllowDataChange)
            throw new ArgumentException($"checkpoint {dir} was trained on other data: its data_hash is {Short(s.DataHash)} ({s.DataDescription}), the current data " +
                $"hashes to {Short(now.DataHash)} ({now.DataDescription}). The sample count and row length agree, but the rows or their order differ, so this " +
                "would not continue the same run. Use the data the run was trained on (the same --data, --tokenizer and --max-seq-len), or " +
                "--allow-data-change to continue on this data deliberately (the metrics log records it)");
        run.Log.WriteLine($"note: --allow-data-change: continuing on other data ({now.DataDescription}, data_hash {Short(now.DataHash)}); the checkpoint was trained on " +
            $"{s.DataDescription} (data_hash {Short(s.DataHash)}). From here on the run is no longer the one it started as");
        run.DataChangedFrom = (s.DataDescription, s.DataHash);
        s.DataHash = now.DataHash;
        s.DataDescription = now.DataDescription;
    }

    private static string Short(string hash) => hash.Length > 23 ? hash[..23] : hash;

    // A flag whose value differs from the checkpoint's: applied (the run continues with the new value, recorded in the
    // state so the next resume compares against it) or kept (the checkpoint's value stays in force). Refused ones throw above.
    private static void ReportChangedSettings(Trainer run, TrainingState s)
    {
        var o = run.Options;
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        void Changed(string flag, string was, string now, string what) => run.Log.WriteLine($"changed: {flag} {was} → {now} ({what})");
        if (s.LearningRate != o.LearningRate)
            Changed("--learning-rate", F(s.LearningRate), F(o.LearningRate), $"applied: the cosine schedule continues from step {s.OptimizerStep + 1} with the new peak; no longer the run it started as");
        if (s.GradClip != o.GradClip)
            Changed("--grad-clip", F(s.GradClip), F(o.GradClip), "applied from the next step");
        if (s.Seed != o.Seed)
            Changed("--seed", F(s.Seed), F(o.Seed), $"kept {s.Seed}: the data order continues the checkpoint's");
        if (s.Epochs > 0 && s.Epochs != o.Epochs)
            Changed("--epochs", F(s.Epochs), F(o.Epochs), $"kept {s.Epochs}: the schedule was fixed at {s.TotalSteps} steps when the run started");
        s.LearningRate = o.LearningRate;
        s.GradClip = o.GradClip;
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

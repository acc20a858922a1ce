using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Kernels;
using Minimind.Model.Data;

namespace Minimind.Model.Training;

/// <summary>How a <see cref="Trainer.Run"/> ended.</summary>
public enum TrainOutcome
{
    /// <summary>Every step was taken (or --max-steps reached).</summary>
    Finished,
    /// <summary>Stopped by a signal after writing a checkpoint.</summary>
    Stopped,
    /// <summary>Stopped by the <see cref="DivergenceGuard"/>; <see cref="Trainer.DivergedReason"/> says why. The newest checkpoint is the last good one.</summary>
    Diverged,
}

/// <summary>
/// MiniMind's pretraining loop over an <see cref="ILanguageModel"/> and an <see cref="IPretrainSource"/>:
/// per-epoch seeded shuffle, gradient accumulation, clip_grad_norm_, AdamW, the cosine schedule,
/// periodic saves of the PyTorch weights and of a full resume state.
/// <para>
/// Exact resume: the state is taken only at optimizer-step boundaries (gradients are zero there), the
/// data order is a pure function of (seed, epoch) and the position inside the epoch, and every kernel
/// is deterministic, so a run resumed from step k continues exactly as the uninterrupted one.
/// An epoch has ⌊samples / batch⌋ micro-batches (the ragged tail is dropped so every batch has one shape);
/// when that is not a multiple of the accumulation steps the epoch's last optimizer step sums fewer
/// micro-batches, still scaled by 1/accumulation as MiniMind does.
/// </para>
/// </summary>
public sealed class Trainer : IDisposable
{
    /// <summary>File names inside a resume-state folder.</summary>
    public const string WeightsFile = "model.f32", MomentFile = "adam_m.f32", SecondMomentFile = "adam_v.f32", StateFile = "state.msgpack";

    private readonly ILanguageModel _model;
    private readonly IPretrainSource _data;
    private readonly TrainOptions _opt;
    private readonly TextWriter _log;
    private readonly IBackend _backend;
    private int[]? _perm;
    private float[]? _hostW, _hostM, _hostV;
    private int _permEpoch = -1;

    /// <summary>Counters, schedule, loss log (what the resume state stores besides the buffers).</summary>
    public TrainingState State { get; private set; }
    /// <summary>AdamW moments and step.</summary>
    public AdamWState Adam { get; }
    /// <summary>Micro-batches per epoch.</summary>
    public long MicroBatchesPerEpoch { get; }
    /// <summary>Optimizer steps per epoch.</summary>
    public long StepsPerEpoch { get; }
    /// <summary>Invoked after each optimizer step with the step number (tests use it to kill at chosen moments).</summary>
    public Action<long>? AfterStep { get; set; }
    /// <summary>The divergence guard of the current <see cref="Run"/> (null outside one: <see cref="TrainStep"/> then always updates).</summary>
    public DivergenceGuard? Guard { get; private set; }
    /// <summary>Why the run stopped as <see cref="TrainOutcome.Diverged"/>.</summary>
    public string? DivergedReason { get; private set; }
    private bool _savePending;
    private long _lastSaveBytes;

    /// <summary><c>pretrain_512</c> or <c>pretrain_512_moe</c>: MiniMind's file stem for this run.</summary>
    public string RunName => RunNameOf(_opt.SaveWeight, _model.Config);
    /// <summary>Folder holding the step_* resume states.</summary>
    public string CheckpointRoot => Path.Combine(_opt.OutDir, "checkpoints", RunName);
    /// <summary>The PyTorch weight file written at every save.</summary>
    public string WeightsPath => Path.Combine(_opt.OutDir, RunName + ".pth");
    /// <summary>MiniMind's resume layout, written with --export-minimind-resume.</summary>
    public string MinimindResumePath => Path.Combine(_opt.MinimindRoot ?? _opt.OutDir, "checkpoints", RunName + "_resume.pth");
    /// <summary>The metrics jsonl.</summary>
    public string MetricsPath => Path.Combine(_opt.OutDir, "checkpoints", RunName + "_metrics.jsonl");
    /// <summary>The loss-curve PNG.</summary>
    public string PlotPath => Path.Combine(_opt.OutDir, RunName + "_loss.png");

    /// <summary>MiniMind's name for a weight file: <c>{save_weight}_{hidden}{_moe}</c>.</summary>
    public static string RunNameOf(string saveWeight, ModelConfig c) => $"{saveWeight}_{c.Dim}{(c.UseMoe ? "_moe" : "")}";

    /// <summary>Prepares a fresh run (step 0) over <paramref name="data"/>; load a resume state afterwards to continue one.</summary>
    public Trainer(ILanguageModel model, IPretrainSource data, TrainOptions options, TextWriter log, string dataDescription)
    {
        options.Validate();
        _model = model; _data = data; _opt = options; _log = log; _backend = model.Backend;
        MicroBatchesPerEpoch = data.Count / options.BatchSize;
        if (MicroBatchesPerEpoch < 1)
            throw new ArgumentException($"the training data holds {data.Count} samples, fewer than one batch of --batch-size {options.BatchSize}");
        StepsPerEpoch = (MicroBatchesPerEpoch + options.AccumulationSteps - 1) / options.AccumulationSteps;
        long total = StepsPerEpoch * options.Epochs;
        if (options.MaxSteps is { } ms) total = Math.Min(total, ms);
        Adam = new AdamWState(_backend, model.Parameters.TotalElements) { WeightDecay = options.WeightDecay };
        State = new TrainingState
        {
            Arch = ArchSignature.Of(model.Config), TotalSteps = total, Epochs = options.Epochs, Seed = options.Seed,
            BatchSize = options.BatchSize, AccumulationSteps = options.AccumulationSteps, SeqLen = data.SeqLen,
            LearningRate = options.LearningRate, GradClip = options.GradClip, DataCount = data.Count,
            DataDescription = dataDescription, Device = _backend.Name, Beta1 = Adam.Beta1, Beta2 = Adam.Beta2,
            Eps = Adam.Eps, WeightDecay = Adam.WeightDecay,
        };
    }

    /// <summary>True when every scheduled step has been taken.</summary>
    public bool IsDone => State.OptimizerStep >= StopStep || State.Epoch >= State.Epochs;

    /// <summary>Where this run stops: the stored schedule length, or an earlier --max-steps.</summary>
    public long StopStep => Math.Min(State.TotalSteps, _opt.MaxSteps ?? long.MaxValue);

    // ---- one optimizer step ---------------------------------------------------------------------

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/> (each scaled by 1/accumulation-steps):
    /// zero gradients, forward/backward each, clip by global norm, AdamW at <paramref name="lr"/>.
    /// Returns the mean micro-batch loss and the gradient norm before clipping.
    /// </summary>
    public (float Loss, double GradNorm) TrainStep(IReadOnlyList<Batch> microBatches, double lr)
    {
        _backend.Fill(_model.Gradients, 0f);
        double lossSum = 0;
        float scale = 1f / _opt.AccumulationSteps;
        foreach (var b in microBatches) lossSum += _model.ForwardBackward(b, scale);
        double sumSq = _backend.SumOfSquares(_model.Gradients);
        float loss = (float)(lossSum / microBatches.Count);
        double norm = Math.Sqrt(sumSq);
        // The guard sees the step before the weights do: a non-finite or spiking step never reaches them.
        if (Guard is null || Guard.Check(State.OptimizerStep + 1, loss, norm, out var why))
            Adam.Apply(_model.Weights, _model.Gradients, (float)lr, GradClip.Coefficient(sumSq, _opt.GradClip));
        else if (why is not null) _log.WriteLine(why);
        return (loss, norm);
    }

    /// <summary>The micro-batch at <paramref name="microStep"/> of <paramref name="epoch"/>.</summary>
    public Batch MakeBatch(int epoch, long microStep)
    {
        if (_permEpoch != epoch) { _perm = DataOrder.Permutation(checked((int)_data.Count), _opt.Seed, epoch); _permEpoch = epoch; }
        int b = _opt.BatchSize, t = _data.SeqLen;
        var inputs = new int[b * t];
        var targets = new int[b * t];
        for (int r = 0; r < b; r++)
            _data.Fill(_perm![microStep * b + r], inputs.AsSpan(r * t, t), targets.AsSpan(r * t, t));
        return new Batch(b, t, inputs, targets);
    }

    // ---- the loop -------------------------------------------------------------------------------

    /// <summary>
    /// Trains until the schedule ends or <paramref name="stop"/> fires; saves every --save-interval steps,
    /// at the end and on a stop. Prints a progress line per --log-interval and appends metrics.
    /// </summary>
    public TrainOutcome Run(StopSignal? stop, bool resumed)
    {
        Directory.CreateDirectory(CheckpointRoot);
        Guard = new DivergenceGuard(State.Losses, _opt.MaxBadSteps, _opt.LossSpike);
        using var metrics = new MetricsLog(MetricsPath, resumed ? State.OptimizerStep : null);
        metrics.Write(new KeyValuePair<string, object?>[]
        {
            new("event", resumed ? "resume" : "start"), new("step", State.OptimizerStep), new("total_steps", State.TotalSteps),
            new("device", _backend.Name), new("time", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)),
        });
        bool live = !Console.IsOutputRedirected && ReferenceEquals(_log, Console.Out);
        var sw = Stopwatch.StartNew();
        long startStep = State.OptimizerStep, tokensAtStart = State.TokensSeen;
        bool firstAfterResume = resumed;
        var micro = new List<Batch>(_opt.AccumulationSteps);
        while (!IsDone)
        {
            micro.Clear();
            while (micro.Count < _opt.AccumulationSteps && State.MicroStepInEpoch + micro.Count < MicroBatchesPerEpoch)
                micro.Add(MakeBatch(State.Epoch, State.MicroStepInEpoch + micro.Count));
            long step = State.OptimizerStep + 1;
            double lr = LrSchedule.At(step, State.TotalSteps, _opt.LearningRate);
            if (firstAfterResume && !float.IsNaN(State.NextBatchLoss))
            {
                // The resume check: the first batch's loss under the restored weights, against the value recorded at save time.
                float check = _model.ForwardLoss(micro[0]);
                bool same = BitConverter.SingleToInt32Bits(check) == BitConverter.SingleToInt32Bits(State.NextBatchLoss);
                _log.WriteLine($"resume check: first batch loss {check:F6}, recorded at save {State.NextBatchLoss:F6} -> {(same ? "identical" : $"DIFFERENT by {check - State.NextBatchLoss:E2}")}");
            }
            firstAfterResume = false;
            var (loss, norm) = TrainStep(micro, lr);
            State.OptimizerStep = step;
            State.AdamStep = Adam.Step;
            State.MicroStepInEpoch += micro.Count;
            State.TokensSeen += (long)micro.Count * _opt.BatchSize * _data.SeqLen;
            State.Losses.Add(loss);
            if (State.MicroStepInEpoch >= MicroBatchesPerEpoch) { State.Epoch++; State.MicroStepInEpoch = 0; }

            double secs = sw.Elapsed.TotalSeconds;
            double tps = (State.TokensSeen - tokensAtStart) / Math.Max(secs, 1e-9);
            double eta = secs / (step - startStep) * (StopStep - step);
            string line = $"step {step}/{StopStep} epoch {Math.Min(State.Epoch + 1, State.Epochs)}/{State.Epochs} loss {loss:F4} lr {lr:E3} grad-norm {norm:F3} tok/s {tps:F0} ETA {FormatTime(eta)}";
            if (step % _opt.LogInterval == 0 || IsDone || step == startStep + 1 || !Guard.LastAccepted)
            {
                if (live) _log.Write("\r\u001b[K");
                _log.WriteLine(line);
                metrics.Write(new KeyValuePair<string, object?>[]
                {
                    new("step", step), new("epoch", State.Epoch), new("loss", loss), new("lr", lr), new("grad_norm", norm),
                    new("tokens", State.TokensSeen), new("tokens_per_s", tps), new("elapsed_s", secs),
                });
            }
            else if (live) _log.Write("\r\u001b[K" + line);

            if (Guard.StopReason is { } reason)
            {
                DivergedReason = reason;
                metrics.Write(new KeyValuePair<string, object?>[] { new("event", "diverged"), new("step", step), new("reason", reason) });
                return TrainOutcome.Diverged;
            }
            bool stopping = stop?.StopRequested == true;
            if (step % _opt.SaveInterval == 0 || IsDone || stopping || _savePending)
            {
                if (live) _log.Write("\r\u001b[K");
                // A skipped update leaves weights that already produced a bad step: save after the next good one.
                _savePending = !Guard.LastAccepted;
                if (_savePending) _log.WriteLine($"step {step}: checkpoint postponed (the update was skipped); the previous checkpoint stays the newest");
                else
                {
                    try { Save(); }
                    catch (TrainingDivergedException e)
                    {
                        DivergedReason = e.Message;
                        metrics.Write(new KeyValuePair<string, object?>[] { new("event", "diverged"), new("step", step), new("reason", e.Message) });
                        return TrainOutcome.Diverged;
                    }
                }
            }
            AfterStep?.Invoke(step);
            if (stopping && !IsDone)
            {
                metrics.Write(new KeyValuePair<string, object?>[] { new("event", "stop"), new("step", step) });
                return TrainOutcome.Stopped;
            }
        }
        metrics.Write(new KeyValuePair<string, object?>[] { new("event", "end"), new("step", State.OptimizerStep) });
        return TrainOutcome.Finished;
    }

    private static string FormatTime(double s)
    {
        if (!double.IsFinite(s)) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(s));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    // ---- saving ---------------------------------------------------------------------------------

    /// <summary>
    /// Writes the PyTorch weights (atomically), then the resume state folder (committed by its manifest),
    /// prunes to --keep-last, and writes the optional MiniMind resume file and plot. Returns the folder.
    /// </summary>
    public string Save()
    {
        var sw = Stopwatch.StartNew();
        long n = _model.Parameters.TotalElements;
        // Host copies are kept between saves: three model-sized arrays per save would churn the GC.
        var w = _hostW ??= new float[n]; var m = _hostM ??= new float[n]; var v = _hostV ??= new float[n];
        _backend.Download(_model.Weights, w);
        _backend.Download(Adam.M, m);
        _backend.Download(Adam.V, v);
        // Never commit a state nobody could resume from.
        if (DivergenceGuard.NonFinite(w, m, v) is { } bad)
            throw new TrainingDivergedException($"refusing to save step {State.OptimizerStep}: {bad}; the previous checkpoint stays the newest");
        State.AdamStep = Adam.Step;
        State.NextBatchLoss = IsDone ? float.NaN : _model.ForwardLoss(MakeBatch(State.Epoch, State.MicroStepInEpoch));
        // Finite weights can still be past saving: when they already give the next batch a non-finite loss, this state is not one to resume from.
        if (!IsDone && (!float.IsFinite(State.NextBatchLoss) || Guard?.IsSpike(State.NextBatchLoss) == true))
            throw new TrainingDivergedException($"refusing to save step {State.OptimizerStep}: its weights give the next batch a loss of {State.NextBatchLoss}" +
                $"{(float.IsFinite(State.NextBatchLoss) ? $" (a spike, --loss-spike {_opt.LossSpike:G})" : "")}; the previous checkpoint stays the newest");
        Directory.CreateDirectory(_opt.OutDir);
        SaveSpace.Check(this, _opt, _lastSaveBytes, n);
        var stateBytes = State.Serialize();
        // The step folder first: a save that fails later (disk full) leaves the previous .pth untouched and a complete newer folder.
        var dir = ResumeStore.Commit(CheckpointRoot, State.OptimizerStep, new[]
        {
            new ResumeFile(WeightsFile, s => s.Write(MemoryMarshal.AsBytes(w.AsSpan()))),
            new ResumeFile(MomentFile, s => s.Write(MemoryMarshal.AsBytes(m.AsSpan()))),
            new ResumeFile(SecondMomentFile, s => s.Write(MemoryMarshal.AsBytes(v.AsSpan()))),
            new ResumeFile(StateFile, s => s.Write(stateBytes)),
        });
        var weights = ArchitectureRecord.Attach(StateDictLoader.Export(_model.Parameters, w, _opt.SaveDtype), _model.Config, _opt.TokenizerSpec);
        PthWriter.WriteStateDict(WeightsPath, weights);
        ResumeStore.Prune(CheckpointRoot, _opt.KeepLast, _opt.KeepEvery, knownGood: dir);
        if (_opt.ExportMinimindResume || _opt.MinimindRoot is not null)
        {
            MinimindResumeFile.Write(MinimindResumePath, _model.Parameters, w, m, v, Adam, State, _opt.SaveDtype,
                LrSchedule.At(Math.Max(1, State.OptimizerStep), State.TotalSteps, _opt.LearningRate), weights.Extras);
            // MiniMind's scripts read --from_weight from <root>/out and lm_checkpoint keeps a copy beside the resume file.
            if (_opt.MinimindRoot is { } mr)
                foreach (var folder in new[] { "out", "checkpoints" })
                {
                    Directory.CreateDirectory(Path.Combine(mr, folder));
                    PthWriter.WriteStateDict(Path.Combine(mr, folder, RunName + ".pth"), weights);
                }
        }
        if (_opt.Plot) new LossPlot().Draw(State.Losses).Save(PlotPath);
        _lastSaveBytes = SaveSpace.BytesOf(this, _opt, dir);
        _log.WriteLine($"saved step {State.OptimizerStep}: weights {WeightsPath}, resume state {dir} ({sw.Elapsed.TotalSeconds:F2}s)");
        return dir;
    }

    // ---- resuming -------------------------------------------------------------------------------

    /// <summary>
    /// Loads the newest resume-state folder that verifies (damaged newer ones are reported and skipped).
    /// Returns false when there is none. Throws when the checkpoint's architecture or data differ.
    /// </summary>
    public bool TryResumeLatest()
    {
        var c = ResumeStore.FindNewestValid(CheckpointRoot, msg => _log.WriteLine("warning: " + msg));
        if (c is null) return false;
        LoadResumeFolder(c.Path);
        return true;
    }

    /// <summary>Loads one resume-state folder (verifies it first) into the model, the optimizer and <see cref="State"/>.</summary>
    public void LoadResumeFolder(string dir)
    {
        var problem = ResumeStore.Verify(dir, out _);
        if (problem is not null) throw new InvalidDataException($"cannot resume from {dir}: {problem}");
        var s = TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(dir, StateFile)), Path.Combine(dir, StateFile));
        var diffs = ArchSignature.Differences(s.Arch, ArchSignature.Of(_model.Config));
        if (diffs.Count > 0)
            throw new ArgumentException($"checkpoint {dir} was trained with a different architecture, refusing to resume: {string.Join("; ", diffs)}");
        if (s.DataCount != _data.Count || s.SeqLen != _data.SeqLen)
            throw new ArgumentException($"checkpoint {dir} was trained on {s.DataCount} samples of {s.SeqLen} tokens ({s.DataDescription}); the current data has {_data.Count} of {_data.SeqLen}: the data order would not continue. Use the same --data and --max-seq-len");
        if (s.BatchSize != _opt.BatchSize || s.AccumulationSteps != _opt.AccumulationSteps)
            throw new ArgumentException($"checkpoint {dir} used --batch-size {s.BatchSize} --accumulation-steps {s.AccumulationSteps}; this run asks for {_opt.BatchSize} and {_opt.AccumulationSteps}");
        if (s.Seed != _opt.Seed)
            _log.WriteLine($"note: continuing the checkpoint's data order (seed {s.Seed}); --seed {_opt.Seed} is ignored on resume");
        if (s.Device != _backend.Name)
            _log.WriteLine($"note: checkpoint written on device '{s.Device}', continuing on '{_backend.Name}': results stay correct but are no longer bit-identical to an uninterrupted run");
        long n = _model.Parameters.TotalElements;
        var buf = new float[n];
        ReadFloats(Path.Combine(dir, WeightsFile), buf); _backend.Upload(_model.Weights, buf);
        ReadFloats(Path.Combine(dir, MomentFile), buf); _backend.Upload(Adam.M, buf);
        ReadFloats(Path.Combine(dir, SecondMomentFile), buf); _backend.Upload(Adam.V, buf);
        Adam.Step = s.AdamStep;
        // The learning rate, clip and epochs of the resumed run are the ones it started with (the schedule is fixed).
        s.Epochs = s.Epochs > 0 ? s.Epochs : _opt.Epochs;
        if (_opt.MaxSteps is { } ms && ms > s.TotalSteps)
            _log.WriteLine($"note: the schedule was fixed at {s.TotalSteps} steps when the run started; --max-steps {ms} cannot extend it");
        State = s;
        _permEpoch = -1;
        _log.WriteLine($"resumed from {dir}: step {s.OptimizerStep}/{s.TotalSteps}, epoch {s.Epoch + 1}, batch {s.MicroStepInEpoch} of {MicroBatchesPerEpoch}, {s.TokensSeen:N0} tokens seen");
    }

    /// <summary>Continues a run saved by MiniMind's PyTorch trainer (<c>*_resume.pth</c>); see <see cref="MinimindResumeFile"/>.</summary>
    public void LoadMinimindResume(string path, int worldSize = 1)
    {
        var r = MinimindResumeFile.Read(path, _model.Parameters, _log);
        long n = _model.Parameters.TotalElements;
        _backend.Upload(_model.Weights, r.Weights);
        _backend.Upload(Adam.M, r.M);
        _backend.Upload(Adam.V, r.V);
        Adam.Step = r.AdamStep;
        long step = r.Step;
        if (r.WorldSize != worldSize)
        {
            // MiniMind's rule (trainer_utils.lm_checkpoint): the per-rank step scales by saved/current world size.
            step = step * r.WorldSize / worldSize;
            _log.WriteLine($"world size changed ({r.WorldSize} -> {worldSize}): step in epoch rescaled from {r.Step} to {step}");
        }
        State.Epoch = r.Epoch;
        State.MicroStepInEpoch = Math.Min(step, MicroBatchesPerEpoch);
        if (State.MicroStepInEpoch >= MicroBatchesPerEpoch) { State.Epoch++; State.MicroStepInEpoch = 0; }
        State.OptimizerStep = Math.Min(r.AdamStep, State.TotalSteps);
        State.AdamStep = r.AdamStep;
        State.WorldSize = worldSize;
        State.NextBatchLoss = float.NaN;
        _log.WriteLine($"resumed from MiniMind file {path}: epoch {r.Epoch + 1}, step {r.Step}, AdamW step {r.AdamStep}");
    }

    private static void ReadFloats(string path, float[] dest)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        if (fs.Length != (long)dest.Length * 4) throw new InvalidDataException($"{path} holds {fs.Length} bytes, the model needs {(long)dest.Length * 4}");
        fs.ReadExactly(MemoryMarshal.AsBytes(dest.AsSpan()));
    }

    /// <inheritdoc/>
    public void Dispose() => Adam.Dispose();
}

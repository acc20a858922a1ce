using System.Diagnostics;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Training.Distributed;
using Minimind.Training.Stages;

namespace Minimind.Training;

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
/// The one training loop of every MiniMind stage (<see cref="ITrainingStage"/> supplies data, loss and the
/// trained buffer): per-epoch seeded shuffle, gradient accumulation, clip_grad_norm_, AdamW, the cosine
/// schedule, periodic saves of the PyTorch weights and of a full resume state.
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
    private readonly ITrainingStage _stage;
    private readonly TrainOptions _opt;
    private readonly TextWriter _log;
    private readonly IBackend _backend;
    private int[]? _perm;
    private float[]? _hostW, _hostM, _hostV;
    private int _permEpoch = -1;
    private DataParallel _dp;
    private float _lastAux;

    /// <summary>Counters, schedule, loss log (what the resume state stores besides the buffers).</summary>
    public TrainingState State { get; private set; }
    /// <summary>AdamW moments and step (over the stage's trained buffer only).</summary>
    public AdamWState Adam { get; }
    /// <summary>The stage being trained.</summary>
    public ITrainingStage Stage => _stage;
    /// <summary>Where this run's files go (<c>{save_weight}_{dim}[_moe]</c>).</summary>
    public RunPaths Paths { get; }
    /// <summary>Micro-batches per epoch.</summary>
    public long MicroBatchesPerEpoch { get; }
    /// <summary>Optimizer steps per epoch.</summary>
    public long StepsPerEpoch { get; private set; }
    /// <summary>The ranks this run is spread over (world size 1 without mpirun).</summary>
    public DataParallel Parallel => _dp;
    /// <summary>fp16 dynamic loss scaling (disabled for fp32/bf16 runs).</summary>
    public GradScaler Scaler { get; }
    /// <summary>True when the last step found inf/NaN gradients and skipped AdamW (fp16 only; the same on every rank,
    /// since the gradients are summed over the ranks first).</summary>
    public bool LastStepSkipped { get; private set; }
    /// <summary>Invoked after each optimizer step with the step number (tests use it to kill at chosen moments).</summary>
    public Action<long>? AfterStep { get; set; }
    /// <summary>The divergence guard of the current <see cref="Run"/> (null outside one: <see cref="TrainStep"/> then always updates).</summary>
    public DivergenceGuard? Guard { get; private set; }
    /// <summary>Why the run stopped as <see cref="TrainOutcome.Diverged"/>.</summary>
    public string? DivergedReason { get; private set; }
    /// <summary>MiniMind's resume layout: <see cref="RunPaths.MinimindResumePath"/>, or under --minimind-root's checkpoints/.</summary>
    public string MinimindResumePath => _opt.MinimindRoot is { } r ? Path.Combine(r, "checkpoints", Paths.RunName + "_resume.pth") : Paths.MinimindResumePath;
    private bool _savePending;
    private long _lastSaveBytes;

    /// <summary>A pretraining run (every weight, next-token CE) of <paramref name="model"/> over <paramref name="data"/>.</summary>
    public Trainer(ILanguageModel model, IPretrainSource data, TrainOptions options, TextWriter log, string dataDescription, ICommunicator? comm = null)
        : this(new LanguageModelStage("pretrain", model, data), options, log, dataDescription, comm) { }

    /// <summary>Prepares a fresh run (step 0) of <paramref name="stage"/>; load a resume state afterwards to continue one.</summary>
    /// <remarks>With <paramref name="comm"/> of world size W, a step takes G = W × --accumulation-steps micro-batches (see <see cref="DataParallel"/>).</remarks>
    public Trainer(ITrainingStage stage, TrainOptions options, TextWriter log, string dataDescription, ICommunicator? comm = null)
    {
        options.Validate();
        _stage = stage; _opt = options; _log = log; _backend = stage.Backend;
        Paths = RunPaths.Of(options.OutDir, options.SaveWeight, stage.Config);
        MicroBatchesPerEpoch = stage.Count / options.BatchSize;
        if (MicroBatchesPerEpoch < 1)
            throw new ArgumentException($"the training data holds {stage.Count} samples, fewer than one batch of --batch-size {options.BatchSize}");
        _dp = new DataParallel(comm ?? SoloCommunicator.Instance, _backend, stage.Gradients, options.AccumulationSteps);
        StepsPerEpoch = (MicroBatchesPerEpoch + _dp.MicroBatchesPerStep - 1) / _dp.MicroBatchesPerStep;
        long total = StepsPerEpoch * options.Epochs;
        if (options.MaxSteps is { } ms) total = Math.Min(total, ms);
        Adam = new AdamWState(_backend, stage.Parameters.TotalElements) { WeightDecay = options.WeightDecay };
        Scaler = new GradScaler(options.Dtype == Precision.Fp16);
        State = new TrainingState
        {
            Arch = Signature(), TotalSteps = total, Epochs = options.Epochs, Seed = options.Seed,
            BatchSize = options.BatchSize, AccumulationSteps = options.AccumulationSteps, SeqLen = stage.SeqLen,
            LearningRate = options.LearningRate, GradClip = options.GradClip, DataCount = stage.Count,
            DataDescription = dataDescription, Device = _backend.Name, Beta1 = Adam.Beta1, Beta2 = Adam.Beta2,
            Eps = Adam.Eps, WeightDecay = Adam.WeightDecay, WorldSize = _dp.WorldSize, MicroBatchesPerStep = _dp.MicroBatchesPerStep,
            Dtype = options.Dtype.Name(), ScalerScale = Scaler.Scale,
        };
    }

    /// <summary>True when every scheduled step has been taken.</summary>
    public bool IsDone => State.OptimizerStep >= StopStep || State.Epoch >= State.Epochs;

    /// <summary>Where this run stops: the stored schedule length, or an earlier --max-steps.</summary>
    public long StopStep => Math.Min(State.TotalSteps, _opt.MaxSteps ?? long.MaxValue);

    // The fields a resume compares: the architecture, then the stage's own (adapter rank, ...).
    private IReadOnlyList<KeyValuePair<string, string>> Signature() => ArchSignature.Of(_stage.Config).Concat(_stage.Signature).ToList();

    // ---- one optimizer step ---------------------------------------------------------------------

    /// <summary>
    /// One optimizer step of a single process over <paramref name="microBatches"/> (at most --accumulation-steps,
    /// each scaled by 1/accumulation-steps, summed pairwise): clip by global norm, AdamW at <paramref name="lr"/>.
    /// Returns the mean micro-batch loss and the gradient norm before clipping.
    /// </summary>
    public (float Loss, double GradNorm) TrainStep(IReadOnlyList<Batch> microBatches, double lr)
    {
        if (_dp.WorldSize != 1) throw new InvalidOperationException("TrainStep(batches) is the single-process step; Run drives the ranks");
        if (microBatches.Count < 1 || microBatches.Count > _dp.PerRank)
            throw new ArgumentException($"a step takes 1 to --accumulation-steps ({_dp.PerRank}) micro-batches, got {microBatches.Count}", nameof(microBatches));
        var (loss, norm, _) = Step(microBatches.Count, i => microBatches[i], lr, false);
        return (loss, norm);
    }

    /// <summary>
    /// One optimizer step over every rank: the step's micro-batches are global indices
    /// <paramref name="firstMicro"/> .. + G − 1 of <paramref name="epoch"/> (fewer at the epoch's end), this rank
    /// computes its block. Every rank returns the same mean loss, gradient norm and stop decision
    /// (<paramref name="stopRequested"/> of any rank).
    /// </summary>
    public (float Loss, double GradNorm, bool StopAny) TrainStepAt(int epoch, long firstMicro, double lr, bool stopRequested = false)
    {
        int available = (int)Math.Min(_dp.MicroBatchesPerStep, MicroBatchesPerEpoch - firstMicro);
        var (first, count) = _dp.MyMicroBatches(available);
        _micro.Clear();
        for (int i = 0; i < count; i++) _micro.Add(MakeBatch(epoch, firstMicro + first + i));
        return Step(available, i => _micro[i], lr, stopRequested);
    }
    private readonly List<Batch> _micro = new();

    // The step's gradient over every rank (this rank's micro-batches from myBatch), then the same clip and AdamW on each rank.
    // With fp16 loss scaling the backward runs on loss·scale; non-finite gradients skip AdamW (norm +∞, LastStepSkipped)
    // and halve the scale, finite ones are unscaled before clipping.
    private (float Loss, double GradNorm, bool Stop) Step(int available, Func<int, Batch> myBatch, double lr, bool stopRequested)
    {
        // MiniMind: scaler.scale(loss / accumulation_steps).backward(); the scale is 1 when scaling is off.
        float scale = Scaler.Scale / _dp.MicroBatchesPerStep;
        double auxSum = 0;
        int computed = 0;
        var (loss, stop) = _dp.Step(available, i =>
        {
            float l = _stage.ForwardBackward(myBatch(i), scale);
            auxSum += (_stage as IAuxLossSource)?.LastAuxLoss ?? 0;
            computed++;
            return l;
        }, stopRequested);
        _lastAux = computed > 0 ? (float)(auxSum / computed) : 0f; // over this rank's micro-batches (rank 0 logs its own)
        double sumSq = _backend.SumOfSquares(_stage.Gradients);
        LastStepSkipped = Scaler.Enabled && !double.IsFinite(sumSq);
        if (LastStepSkipped)
        {
            Scaler.Update(foundInf: true);
            // fp16 loss scaling handles its own overflow: an inf/NaN scaled gradient is no bad step for the guard. A
            // non-finite loss is (the forward is unscaled), so the guard still counts it and may stop the run.
            if (!float.IsFinite(loss) && Guard?.Check(State.OptimizerStep + 1, loss, double.PositiveInfinity, out var bad) == false && bad is not null)
                _log.WriteLine(bad);
            return (loss, double.PositiveInfinity, stop);
        }
        // unscale_ before clip_grad_norm_: ×1/scale is exact for the power-of-two scales GradScaler produces.
        float inv = 1f / Scaler.Scale;
        sumSq *= (double)inv * inv;
        double norm = Math.Sqrt(sumSq);
        // The guard sees the step before the weights do: a non-finite or spiking step never reaches them. Loss and
        // norm are the all-reduced ones, identical on every rank, so every rank takes the same decision.
        if (Guard is null || Guard.Check(State.OptimizerStep + 1, loss, norm, out var why))
            Adam.Apply(_stage.Weights, _stage.Gradients, (float)lr, GradClip.Coefficient(sumSq, _opt.GradClip) * inv);
        else if (why is not null) _log.WriteLine(why);
        Scaler.Update(foundInf: false);
        return (loss, norm, stop);
    }

    /// <summary>The micro-batch at <paramref name="microStep"/> of <paramref name="epoch"/>.</summary>
    public Batch MakeBatch(int epoch, long microStep)
    {
        if (_permEpoch != epoch) { _perm = DataOrder.Permutation(checked((int)_stage.Count), _opt.Seed, epoch); _permEpoch = epoch; }
        int b = _opt.BatchSize;
        return _stage.CreateBatch(_perm.AsSpan(checked((int)(microStep * b)), b));
    }

    // ---- the loop -------------------------------------------------------------------------------

    /// <summary>
    /// Trains until the schedule ends or <paramref name="stop"/> fires; saves every --save-interval steps,
    /// at the end and on a stop. Prints a progress line per --log-interval and appends metrics.
    /// </summary>
    public TrainOutcome Run(StopSignal? stop, bool resumed)
    {
        Directory.CreateDirectory(Paths.CheckpointRoot);
        Guard = new DivergenceGuard(State.Losses, _opt.MaxBadSteps, _opt.LossSpike);
        // Rank 0 alone prints, writes metrics and checkpoints; the others compute and wait at the commit point.
        using var progress = _dp.IsRoot ? new TrainProgress(_log, Paths.MetricsPath, _opt.LogInterval, resumed, State.OptimizerStep, State.TotalSteps, State.TokensSeen, _backend.Name, _opt.TensorBoardDir) : null;
        if (progress is not null && _dp.WorldSize > 1) progress.Suffix = DistributedProgress.Suffix(_dp);
        bool firstAfterResume = resumed;
        while (!IsDone)
        {
            // Micro-batch g of this step is global index MicroStepInEpoch + g whatever the world size; this rank takes its block.
            int available = (int)Math.Min(_dp.MicroBatchesPerStep, MicroBatchesPerEpoch - State.MicroStepInEpoch);
            long step = State.OptimizerStep + 1;
            double lr = LrSchedule.At(step, State.TotalSteps, _opt.LearningRate);
            if (firstAfterResume && _dp.IsRoot) CheckResumedLoss(MakeBatch(State.Epoch, State.MicroStepInEpoch));
            firstAfterResume = false;
            var (loss, norm, stopping) = TrainStepAt(State.Epoch, State.MicroStepInEpoch, lr, stop?.StopRequested == true);
            State.OptimizerStep = step;
            State.AdamStep = Adam.Step;
            if (LastStepSkipped) State.SkippedSteps++;
            State.ScalerScale = Scaler.Scale;
            State.ScalerGrowthTracker = Scaler.GrowthTracker;
            State.MicroStepInEpoch += available;
            State.TokensSeen += (long)available * _opt.BatchSize * _stage.SeqLen;
            State.Losses.Add(loss);
            if (State.MicroStepInEpoch >= MicroBatchesPerEpoch) { State.Epoch++; State.MicroStepInEpoch = 0; }
            progress?.Step(new StepReport(step, StopStep, State.Epoch, State.Epochs, loss, lr, norm, State.TokensSeen) { AuxLoss = _lastAux }, IsDone);

            if (!Guard.LastAccepted) progress?.Event("skipped", step);
            if (Guard.StopReason is { } reason) return Diverged(progress, step, reason);
            if (step % _opt.SaveInterval == 0 || IsDone || stopping || _savePending)
            {
                progress?.ClearLine();
                // A skipped update leaves weights that already produced a bad step: save after the next good one.
                _savePending = !Guard.LastAccepted;
                if (_savePending) _log.WriteLine($"step {step}: checkpoint postponed (the update was skipped); the previous checkpoint stays the newest");
                else
                {
                    try { Save(); }
                    catch (TrainingDivergedException e) { return Diverged(progress, step, e.Message); }
                }
            }
            AfterStep?.Invoke(step);
            if (stopping && !IsDone)
            {
                progress?.Event("stop", step);
                return TrainOutcome.Stopped;
            }
        }
        progress?.Event("end", State.OptimizerStep);
        return TrainOutcome.Finished;
    }

    private TrainOutcome Diverged(TrainProgress? progress, long step, string reason)
    {
        DivergedReason = reason;
        progress?.Event("diverged", step);
        return TrainOutcome.Diverged;
    }

    // The resume check: the first batch's loss under the restored weights, against the value recorded at save time.
    private void CheckResumedLoss(Batch first)
    {
        if (float.IsNaN(State.NextBatchLoss)) return;
        float check = _stage.ForwardLoss(first);
        bool same = BitConverter.SingleToInt32Bits(check) == BitConverter.SingleToInt32Bits(State.NextBatchLoss);
        _log.WriteLine($"resume check: first batch loss {check:F6}, recorded at save {State.NextBatchLoss:F6} -> {(same ? "identical" : $"DIFFERENT by {check - State.NextBatchLoss:E2}")}");
    }

    // ---- saving ---------------------------------------------------------------------------------

    /// <summary>
    /// Refuses a state that is not finite (or whose weights already diverge on the next batch), checks the free
    /// space, commits the resume state folder (by its manifest), then writes the PyTorch weights with their
    /// architecture record (atomically), prunes (--keep-last, --keep-every, the newest good one always stays),
    /// and writes the optional MiniMind files and plot. Returns the folder.
    /// </summary>
    public string Save()
    {
        var sw = Stopwatch.StartNew();
        long n = _stage.Parameters.TotalElements;
        // Host copies are kept between saves: three model-sized arrays per save would churn the GC.
        var w = _hostW ??= new float[n]; var m = _hostM ??= new float[n]; var v = _hostV ??= new float[n];
        _backend.Download(_stage.Weights, w);
        _backend.Download(Adam.M, m);
        _backend.Download(Adam.V, v);
        // Never commit a state nobody could resume from.
        if (DivergenceGuard.NonFinite(w, m, v) is { } bad)
            throw new TrainingDivergedException($"refusing to save step {State.OptimizerStep}: {bad}; the previous checkpoint stays the newest");
        State.AdamStep = Adam.Step;
        State.NextBatchLoss = IsDone ? float.NaN : _stage.ForwardLoss(MakeBatch(State.Epoch, State.MicroStepInEpoch));
        // Finite weights can be past saving too: when they already give the next batch a non-finite or spiking loss.
        if (!IsDone && (!float.IsFinite(State.NextBatchLoss) || Guard?.IsSpike(State.NextBatchLoss) == true))
            throw new TrainingDivergedException($"refusing to save step {State.OptimizerStep}: its weights give the next batch a loss of {State.NextBatchLoss}" +
                $"{(float.IsFinite(State.NextBatchLoss) ? $" (a spike, --loss-spike {_opt.LossSpike:G})" : "")}; the previous checkpoint stays the newest");
        // Every rank reaches this boundary with the same verdict (the checks above see replicated state); only rank 0
        // holds files to write, and it writes the manifest only after the barrier at which every rank has arrived.
        if (!_dp.IsRoot) { _dp.Barrier(); return Paths.CheckpointRoot; }
        Directory.CreateDirectory(_opt.OutDir);
        SaveSpace.Check(this, _opt, _lastSaveBytes, n);
        // The step folder first: a save that fails later (disk full) leaves the previous .pth untouched and a complete newer folder.
        var dir = ResumeStateFolder.Commit(Paths.CheckpointRoot, State, w, m, v, _dp.Barrier);
        var weights = ArchitectureRecord.Attach(StateDictLoader.Export(_stage.Parameters, w, _opt.SaveDtype), _stage.Config, _opt.TokenizerSpec);
        PthWriter.WriteStateDict(Paths.WeightsPath, weights);
        ResumeStore.Prune(Paths.CheckpointRoot, _opt.KeepLast, _opt.KeepEvery, knownGood: dir);
        if (_opt.ExportMinimindResume || _opt.MinimindRoot is not null)
        {
            MinimindResumeFile.Write(MinimindResumePath, _stage.Parameters, w, m, v, Adam, State, _opt.SaveDtype,
                LrSchedule.At(Math.Max(1, State.OptimizerStep), State.TotalSteps, _opt.LearningRate), Scaler, weights.Extras);
            // MiniMind's scripts read --from_weight from <root>/out, and lm_checkpoint keeps a copy beside the resume file.
            if (_opt.MinimindRoot is { } mr)
                foreach (var folder in new[] { "out", "checkpoints" })
                {
                    Directory.CreateDirectory(Path.Combine(mr, folder));
                    PthWriter.WriteStateDict(Path.Combine(mr, folder, Paths.RunName + ".pth"), weights);
                }
        }
        if (_opt.Plot) new LossPlot().Draw(State.Losses).Save(Paths.PlotPath);
        _lastSaveBytes = SaveSpace.BytesOf(this, _opt, dir);
        _log.WriteLine($"saved step {State.OptimizerStep}: weights {Paths.WeightsPath}, resume state {dir} ({sw.Elapsed.TotalSeconds:F2}s)");
        return dir;
    }

    // ---- resuming -------------------------------------------------------------------------------

    /// <summary>
    /// Loads the newest resume-state folder that verifies (damaged newer ones are reported and skipped).
    /// Returns false when there is none. Throws when the checkpoint's architecture or data differ.
    /// </summary>
    public bool TryResumeLatest()
    {
        var c = ResumeStore.FindNewestValid(Paths.CheckpointRoot, msg => _log.WriteLine("warning: " + msg));
        if (c is null) return false;
        LoadResumeFolder(c.Path);
        return true;
    }

    /// <summary>Loads one resume-state folder (verifies it first) into the trained buffer, the optimizer and <see cref="State"/>.</summary>
    public void LoadResumeFolder(string dir)
    {
        var s = ResumeStateFolder.ReadState(dir);
        var diffs = ArchSignature.Differences(s.Arch, Signature());
        if (diffs.Count > 0)
            throw new ArgumentException($"checkpoint {dir} was trained with a different architecture or stage setup, refusing to resume: {string.Join("; ", diffs)}");
        if (s.DataCount != _stage.Count || s.SeqLen != _stage.SeqLen)
            throw new ArgumentException($"checkpoint {dir} was trained on {s.DataCount} samples of {s.SeqLen} tokens ({s.DataDescription}); the current data has {_stage.Count} of {_stage.SeqLen}: the data order would not continue. Use the same --data and --max-seq-len");
        if (s.BatchSize != _opt.BatchSize)
            throw new ArgumentException($"checkpoint {dir} used --batch-size {s.BatchSize}; this run asks for {_opt.BatchSize}");
        KeepMicroBatchesPerStep(dir, s);
        if (s.Seed != _opt.Seed)
            _log.WriteLine($"note: continuing the checkpoint's data order (seed {s.Seed}); --seed {_opt.Seed} is ignored on resume");
        if (s.Device != _backend.Name)
            _log.WriteLine($"note: checkpoint written on device '{s.Device}', continuing on '{_backend.Name}': results stay correct but are no longer bit-identical to an uninterrupted run");
        var buf = new float[_stage.Parameters.TotalElements];
        ResumeStateFolder.ReadFloats(dir, ResumeStateFolder.WeightsFile, buf); _backend.Upload(_stage.Weights, buf);
        ResumeStateFolder.ReadFloats(dir, ResumeStateFolder.MomentFile, buf); _backend.Upload(Adam.M, buf);
        ResumeStateFolder.ReadFloats(dir, ResumeStateFolder.SecondMomentFile, buf); _backend.Upload(Adam.V, buf);
        Adam.Step = s.AdamStep;
        if (s.Dtype != _opt.Dtype.Name())
            _log.WriteLine($"note: checkpoint trained with --dtype {s.Dtype}, continuing with {_opt.Dtype.Name()}: no longer bit-identical to an uninterrupted run");
        if (Scaler.Enabled && s.Dtype == Precision.Fp16.Name()) Scaler.Restore(s.ScalerScale, s.ScalerGrowthTracker);
        s.Dtype = _opt.Dtype.Name(); s.ScalerScale = Scaler.Scale; s.ScalerGrowthTracker = Scaler.GrowthTracker;
        // The learning rate, clip and epochs of the resumed run are the ones it started with (the schedule is fixed).
        s.Epochs = s.Epochs > 0 ? s.Epochs : _opt.Epochs;
        if (_opt.MaxSteps is { } ms && ms > s.TotalSteps)
            _log.WriteLine($"note: the schedule was fixed at {s.TotalSteps} steps when the run started; --max-steps {ms} cannot extend it");
        State = s;
        _permEpoch = -1;
        _log.WriteLine($"resumed from {dir}: step {s.OptimizerStep}/{s.TotalSteps}, epoch {s.Epoch + 1}, batch {s.MicroStepInEpoch} of {MicroBatchesPerEpoch}, {s.TokensSeen:N0} tokens seen");
    }

    /// <summary>Continues a run saved by MiniMind's PyTorch trainer (<c>*_resume.pth</c>); see <see cref="MinimindResumeFile"/>.</summary>
    public void LoadMinimindResume(string path)
    {
        int worldSize = _dp.WorldSize;
        var r = MinimindResumeFile.Read(path, _stage.Parameters, _log);
        _backend.Upload(_stage.Weights, r.Weights);
        _backend.Upload(Adam.M, r.M);
        _backend.Upload(Adam.V, r.V);
        Adam.Step = r.AdamStep;
        if (r.Scaler is { } sc) Scaler.LoadStateDict(sc, path);
        State.ScalerScale = Scaler.Scale; State.ScalerGrowthTracker = Scaler.GrowthTracker;
        long step = r.Step;
        if (r.WorldSize != worldSize)
        {
            // MiniMind's rule (trainer_utils.lm_checkpoint): the per-rank step scales by saved/current world size.
            step = step * r.WorldSize / worldSize;
            _log.WriteLine($"world size changed ({r.WorldSize} -> {worldSize}): step in epoch rescaled from {r.Step} to {step}");
        }
        State.Epoch = r.Epoch;
        // MiniMind's step counts one rank's batches: the job had consumed step × world-size micro-batches of the epoch.
        State.MicroStepInEpoch = Math.Min(step * worldSize, MicroBatchesPerEpoch);
        if (State.MicroStepInEpoch >= MicroBatchesPerEpoch) { State.Epoch++; State.MicroStepInEpoch = 0; }
        State.OptimizerStep = Math.Min(r.AdamStep, State.TotalSteps);
        State.AdamStep = r.AdamStep;
        State.WorldSize = worldSize;
        State.NextBatchLoss = float.NaN;
        State.MicroBatchesPerStep = _dp.MicroBatchesPerStep;
        _log.WriteLine($"resumed from MiniMind file {path}: epoch {r.Epoch + 1}, step {r.Step}, AdamW step {r.AdamStep}; the data order from here on is this trainer's (seeded per-epoch shuffle, G = {_dp.MicroBatchesPerStep} micro-batches per step), not torch's DistributedSampler");
    }

    // G is the run's identity: a resume at world size M continues with --accumulation-steps G/M, or refuses.
    private void KeepMicroBatchesPerStep(string dir, TrainingState s)
    {
        int g = s.MicroBatchesPerStep > 0 ? s.MicroBatchesPerStep : s.AccumulationSteps * Math.Max(1, s.WorldSize);
        int w = _dp.WorldSize;
        if (g % w != 0)
            throw new ArgumentException($"checkpoint {dir} takes G = {g} micro-batches per optimizer step (saved with world size {s.WorldSize} x --accumulation-steps {s.AccumulationSteps}); world size {w} does not divide {g}, so the run cannot continue unchanged. Resume with a number of ranks that divides {g}");
        if (g / w != _dp.PerRank)
        {
            _log.WriteLine($"note: keeping the checkpoint's G = {g} micro-batches per step: --accumulation-steps becomes {g / w} on {w} rank(s) (saved: {s.AccumulationSteps} on {s.WorldSize})");
            _dp = _dp.WithPerRank(g / w);
            StepsPerEpoch = (MicroBatchesPerEpoch + g - 1) / g;
        }
        s.AccumulationSteps = g / w;
        s.WorldSize = w;
        s.MicroBatchesPerStep = g;
    }

    /// <summary>
    /// Refuses (on every rank, before the first step) when any rank was started with a different
    /// configuration, data, initial weights or resume point than rank 0, naming the field.
    /// </summary>
    public void CheckRanksAgree(IEnumerable<KeyValuePair<string, string>> extra)
    {
        if (_dp.WorldSize == 1) return;
        var w = new float[_stage.Parameters.TotalElements];
        _backend.Download(_stage.Weights, w);
        var fields = RunFingerprint.Of(_opt, State, MakeBatch(0, 0), MakeBatch(State.Epochs - 1, MicroBatchesPerEpoch - 1), w).Concat(extra).ToList();
        _permEpoch = -1;
        RankAgreement.Check(_dp.Comm, fields);
    }

    /// <inheritdoc/>
    public void Dispose() { Adam.Dispose(); _dp.Dispose(); }
}

using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Training.Checkpointing;
using Minimind.Training.Distributed;
using Minimind.Training.Stages;

namespace Minimind.Training;

/// <summary>
/// One training run of any MiniMind stage: its parts — the <see cref="ITrainingStage"/> (data, loss, trained buffer),
/// AdamW, the fp16 <see cref="GradScaler"/>, the data-parallel ranks, the counters (<see cref="State"/>) and the
/// <see cref="Checkpointing.Checkpointer"/> — and its optimizer step (<see cref="TrainStepAt"/>: micro-batches, gradients
/// over the ranks, the divergence guard's verdict, clip and AdamW). <see cref="TrainLoop"/> runs the steps;
/// <see cref="ResumeLoader"/> continues a saved run.
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
    private readonly IBackend _backend;
    private readonly MicroBatches _micro;
    private int[]? _perm;
    private int _permEpoch = -1;
    private DataParallel _dp;

    /// <summary>Counters, schedule, loss log (what the resume state stores besides the buffers).</summary>
    public TrainingState State { get; private set; }
    /// <summary>AdamW moments and step (over the stage's trained buffer only).</summary>
    public AdamWState Adam { get; }
    /// <summary>The trained buffer and its AdamW moments as the checkpoint stores them.</summary>
    public TrainedParametersState ModelState { get; }
    /// <summary>The stage being trained.</summary>
    public ITrainingStage Stage { get; }
    /// <summary>The recipe's knobs.</summary>
    public TrainOptions Options { get; }
    /// <summary>Where progress and notes go (rank 0's console).</summary>
    public TextWriter Log { get; }
    /// <summary>Where this run's files go (<c>{save_weight}_{dim}[_moe]</c>).</summary>
    public RunPaths Paths { get; }
    /// <summary>When and what this run saves.</summary>
    public Checkpointer Checkpointer { get; }
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
    /// <summary>Validation loss and samples while training (--eval-data, --sample-prompts), or null.</summary>
    public TrainingEvaluation? Evaluation { get; set; }
    /// <summary>The rollout log and debug print of an RL run (--log-rollouts, --debug-mode), or null.</summary>
    public Rl.Logging.RolloutLog? Rollouts { get; set; }
    /// <summary>Invoked after each optimizer step with the step number (tests use it to kill at chosen moments).</summary>
    public Action<long>? AfterStep { get; set; }
    /// <summary>The divergence guard of the current <see cref="Run"/> (null outside one: <see cref="TrainStep"/> then always updates).</summary>
    public DivergenceGuard? Guard { get; internal set; }
    /// <summary>Optimizer steps begun in this process (counted before their forward passes): the checkpointer's proof
    /// that no step has touched the weights or the stage's state since a snapshot.</summary>
    public long StepsBegun { get; private set; }
    /// <summary>Why the run stopped as <see cref="TrainOutcome.Diverged"/>.</summary>
    public string? DivergedReason { get; internal set; }
    /// <summary>Set when a resume continued on other data under --allow-data-change: the checkpoint's data (description and hash); the metrics log records it.</summary>
    public (string Description, string Hash)? DataChangedFrom { get; internal set; }

    /// <summary>A pretraining run (every weight, next-token CE) of <paramref name="model"/> over <paramref name="data"/>.</summary>
    public Trainer(ILanguageModel model, IPretrainSource data, TrainOptions options, TextWriter log, string dataDescription, ICommunicator? comm = null)
        : this(new LanguageModelStage("pretrain", model, data), options, log, dataDescription, comm) { }

    /// <summary>Prepares a fresh run (step 0) of <paramref name="stage"/>; load a resume state afterwards to continue one (<see cref="ResumeLoader"/>).</summary>
    /// <remarks>With <paramref name="comm"/> of world size W, a step takes G = W × --accumulation-steps micro-batches (see <see cref="DataParallel"/>).</remarks>
    public Trainer(ITrainingStage stage, TrainOptions options, TextWriter log, string dataDescription, ICommunicator? comm = null)
    {
        options.Validate();
        Stage = stage; Options = options; Log = log; _backend = stage.Backend;
        Paths = RunPaths.Of(options.OutDir, options.SaveWeight, stage.Config);
        MicroBatchesPerEpoch = stage.Count / options.BatchSize;
        if (MicroBatchesPerEpoch < 1)
            throw new ArgumentException($"the training data holds {stage.Count} samples, fewer than one batch of --batch-size {options.BatchSize}");
        // A stage stepping its own optimizers (PPO's minibatch updates) takes the step's W × --accumulation-steps
        // micro-batches as one rollout batch, its updates summing the trained and its own gradients over them (IOptimizingStage).
        if (stage is IOptimizingStage && options.Dtype == Precision.Fp16)
            throw new ArgumentException($"--stage {stage.Name} does not take --dtype fp16 (no loss scaling over its own optimizer steps); use fp32 or bf16");
        var gradients = stage is IOptimizingStage own ? own.OwnGradients.Prepend(stage.Gradients).ToArray() : new[] { stage.Gradients };
        _dp = new DataParallel(comm ?? SoloCommunicator.Instance, _backend, gradients, options.AccumulationSteps);
        StepsPerEpoch = (MicroBatchesPerEpoch + _dp.MicroBatchesPerStep - 1) / _dp.MicroBatchesPerStep;
        long total = StepsPerEpoch * options.Epochs;
        if (options.MaxSteps is { } ms) total = Math.Min(total, ms);
        Adam = new AdamWState(_backend, stage.Parameters.TotalElements) { WeightDecay = options.WeightDecay };
        ModelState = new TrainedParametersState(_backend, stage.Parameters, stage.Weights, Adam);
        Scaler = new GradScaler(options.Dtype == Precision.Fp16);
        _micro = new MicroBatches(stage);
        var (dataHash, maxId) = DataFingerprint.Of(stage);
        if (maxId >= stage.Config.VocabSize)
            throw new ArgumentException($"{dataDescription} holds token id {maxId}, but the model's vocabulary has {stage.Config.VocabSize} ids (--vocab-size, or the " +
                $"architecture of the weights it starts from): the data was tokenized for a vocabulary of at least {maxId + 1}. Train with the tokenizer the model was built for, or a model with --vocab-size {maxId + 1} or more");
        State = new TrainingState
        {
            Arch = Signature(), TotalSteps = total, Epochs = options.Epochs, Seed = options.Seed,
            BatchSize = options.BatchSize, AccumulationSteps = options.AccumulationSteps, SeqLen = stage.SeqLen,
            LearningRate = options.LearningRate, GradClip = options.GradClip, DataCount = stage.Count,
            DataDescription = dataDescription, DataHash = dataHash, Device = _backend.Name, Beta1 = Adam.Beta1, Beta2 = Adam.Beta2,
            Eps = Adam.Eps, WeightDecay = Adam.WeightDecay, WorldSize = _dp.WorldSize, MicroBatchesPerStep = _dp.MicroBatchesPerStep,
            Dtype = options.Dtype.Name(), ScalerScale = Scaler.Scale,
        };
        Checkpointer = new Checkpointer(this, options, log);
    }

    /// <summary>True when every scheduled step has been taken.</summary>
    public bool IsDone => State.OptimizerStep >= StopStep || State.Epoch >= State.Epochs;

    /// <summary>Where this run stops: the stored schedule length, or an earlier --max-steps.</summary>
    public long StopStep => Math.Min(State.TotalSteps, Options.MaxSteps ?? long.MaxValue);

    /// <summary>
    /// Trains until the schedule ends or <paramref name="stop"/> fires (see <see cref="TrainLoop"/>). Returns or throws
    /// with no checkpoint write in flight (an exception lets a background write finish first), so the caller's run lock
    /// outlives every write.
    /// </summary>
    public TrainOutcome Run(StopSignal? stop, bool resumed)
    {
        try { return TrainLoop.Run(this, stop, resumed); }
        finally { Checkpointer.Dispose(); }
    }

    /// <summary>The fields a resume compares: the architecture, then the stage's own (adapter rank, ...), then the row-shaping ones (--sft-overflow, ...).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Signature() => ArchSignature.Of(Stage.Config).Concat(Stage.Signature).Concat(Options.DataSignature.Fields).ToList();

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
        _micro.Clear();
        foreach (var b in microBatches) _micro.Add(b);
        var r = Step(microBatches.Count, lr, false);
        return (r.Loss, r.GradNorm);
    }

    /// <summary>Micro-batches the step starting at <paramref name="firstMicro"/> of an epoch takes over all ranks: G, fewer at the epoch's end.</summary>
    public int MicroBatchesAt(long firstMicro) => (int)Math.Min(_dp.MicroBatchesPerStep, MicroBatchesPerEpoch - firstMicro);

    /// <summary>
    /// One optimizer step over every rank: the step's micro-batches are global indices
    /// <paramref name="firstMicro"/> .. + G − 1 of <paramref name="epoch"/> (fewer at the epoch's end), this rank
    /// computes its block. Every rank returns the same mean loss, gradient norm and stop decision
    /// (<paramref name="stopRequested"/> of any rank).
    /// </summary>
    public StepResult TrainStepAt(int epoch, long firstMicro, double lr, bool stopRequested = false)
    {
        int available = MicroBatchesAt(firstMicro);
        var (first, count) = _dp.MyMicroBatches(available);
        _micro.Clear();
        for (int i = 0; i < count; i++) _micro.Add(MakeBatch(epoch, firstMicro + first + i));
        return Step(available, lr, stopRequested);
    }

    // The step's gradient over every rank (this rank's micro-batches in _micro), then the same clip and AdamW on each rank.
    // With fp16 loss scaling the backward runs on loss·scale; non-finite gradients skip AdamW (norm +∞, LastStepSkipped)
    // and halve the scale, finite ones are unscaled before clipping.
    private StepResult Step(int available, double lr, bool stopRequested)
    {
        if (Stage is IOptimizingStage own) return OwnStep(own, available, stopRequested);
        // MiniMind: scaler.scale(loss / accumulation_steps).backward(); the scale is 1 when scaling is off.
        _micro.LossScale = Scaler.Scale / _dp.MicroBatchesPerStep;
        StepsBegun++;
        var (loss, first, stop) = _dp.Step(available, _micro.ForwardBackward, stopRequested);
        // The first micro-batch's loss is the resume check of a save still awaiting it (same weights, same batch): its
        // verdict comes before this step can change the weights, and a refusal ends the run at the saved step.
        Checkpointer.TakeResumeCheck(first);
        float aux = _micro.MeanAuxLoss; // over this rank's micro-batches (rank 0 logs its own)
        double sumSq = _backend.SumOfSquares(Stage.Gradients);
        LastStepSkipped = Scaler.Enabled && !double.IsFinite(sumSq);
        if (LastStepSkipped)
        {
            Scaler.Update(foundInf: true);
            // fp16 loss scaling handles its own overflow: an inf/NaN scaled gradient is no bad step for the guard. A
            // non-finite loss is (the forward is unscaled), so the guard still counts it and may stop the run.
            if (!float.IsFinite(loss) && Guard?.Check(State.OptimizerStep + 1, loss, double.PositiveInfinity, out var bad) == false && bad is not null)
                Log.WriteLine(bad);
            return new StepResult(loss, double.PositiveInfinity, stop) { AuxLoss = aux };
        }
        // unscale_ before clip_grad_norm_: ×1/scale is exact for the power-of-two scales GradScaler produces.
        float inv = 1f / Scaler.Scale;
        sumSq *= (double)inv * inv;
        double norm = Math.Sqrt(sumSq);
        // The guard sees the step before the weights do: a non-finite or spiking step never reaches them. Loss and
        // norm are the all-reduced ones, identical on every rank, so every rank takes the same decision.
        if (Guard is null || Guard.Check(State.OptimizerStep + 1, loss, norm, out var why))
            Adam.Apply(Stage.Weights, Stage.Gradients, (float)lr, GradClip.Coefficient(sumSq, Options.GradClip) * inv);
        else if (why is not null) Log.WriteLine(why);
        Scaler.Update(foundInf: false);
        return new StepResult(loss, norm, stop) { AuxLoss = aux };
    }

    // A stage that steps its optimizers itself (PPO) trains on the step's micro-batches (this rank's in _micro); the guard
    // judges the step as a whole (the stage skips any single update whose loss or gradient is not finite), which postpones
    // a save or stops the run. Its result is the same on every rank; the stop requests are gathered as Step's are.
    private StepResult OwnStep(IOptimizingStage own, int available, bool stopRequested)
    {
        var trained = new OptimizedParameters(_backend, Stage.Weights, Stage.Gradients, Adam, Options.GradClip);
        StepsBegun++;
        var r = own.TrainStep(_micro.Batches, available, _dp, trained, State.TotalSteps);
        if (Guard?.Check(State.OptimizerStep + 1, r.Loss, r.GradNorm, out var why) == false && why is not null) Log.WriteLine(why);
        return r with { StopAny = _dp.AnyRank(stopRequested) };
    }

    /// <summary>Counts step <paramref name="step"/>, which took <paramref name="available"/> micro-batches, into <see cref="State"/>.</summary>
    public void Record(long step, int available, in StepResult r)
    {
        var s = State;
        s.OptimizerStep = step;
        s.AdamStep = Adam.Step;
        if (LastStepSkipped) s.SkippedSteps++;
        s.ScalerScale = Scaler.Scale;
        s.ScalerGrowthTracker = Scaler.GrowthTracker;
        s.MicroStepInEpoch += available;
        s.TokensSeen += (long)available * Options.BatchSize * Stage.SeqLen;
        s.Losses.Add(r.Loss);
        if (s.MicroStepInEpoch >= MicroBatchesPerEpoch) { s.Epoch++; s.MicroStepInEpoch = 0; }
    }

    /// <summary>The micro-batch at <paramref name="microStep"/> of <paramref name="epoch"/>.</summary>
    public Batch MakeBatch(int epoch, long microStep)
    {
        // The run's seed: a resumed run keeps its checkpoint's data order whatever --seed says.
        if (_permEpoch != epoch) { _perm = DataOrder.Permutation(checked((int)Stage.Count), State.Seed, epoch); _permEpoch = epoch; }
        int b = Options.BatchSize;
        return Stage.CreateBatch(_perm.AsSpan(checked((int)(microStep * b)), b), new BatchPlace(epoch, microStep, b));
    }

    /// <summary>The loss the current weights give the next micro-batch (forward only): the resume check's value.</summary>
    public float NextBatchLoss() => Stage.ForwardLoss(MakeBatch(State.Epoch, State.MicroStepInEpoch));

    // ---- resuming (ResumeLoader) ----------------------------------------------------------------

    /// <summary>Continues from <paramref name="s"/>, counters of a saved run whose buffers have been loaded.</summary>
    internal void Adopt(TrainingState s)
    {
        State = s;
        _permEpoch = -1;
    }

    /// <summary>Keeps a saved run's G on this world size: <paramref name="perRank"/> micro-batches per rank from now on.</summary>
    internal void UseMicroBatchesPerRank(int perRank)
    {
        _dp = _dp.WithPerRank(perRank);
        StepsPerEpoch = (MicroBatchesPerEpoch + _dp.MicroBatchesPerStep - 1) / _dp.MicroBatchesPerStep;
    }

    /// <summary>
    /// Refuses (on every rank, before the first step) when any rank was started with a different
    /// configuration, data, initial weights or resume point than rank 0, naming the field.
    /// </summary>
    public void CheckRanksAgree(IEnumerable<KeyValuePair<string, string>> extra)
    {
        if (_dp.WorldSize == 1) return;
        var w = new float[Stage.Parameters.TotalElements];
        _backend.Download(Stage.Weights, w);
        var fields = RunFingerprint.Of(Options, State, MakeBatch(0, 0), MakeBatch(State.Epochs - 1, MicroBatchesPerEpoch - 1), w).Concat(extra).ToList();
        _permEpoch = -1;
        RankAgreement.Check(_dp.Comm, fields);
    }

    /// <inheritdoc/>
    public void Dispose() { Checkpointer.Dispose(); Adam.Dispose(); _dp.Dispose(); }
}

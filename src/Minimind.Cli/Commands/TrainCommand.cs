using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Cli.Stages;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Evaluation;
using Minimind.Model.Tokenizer;
using Minimind.Training;
using Minimind.Training.Checkpointing;
using Minimind.Training.Rl.Logging;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind train</c>: MiniMind's pretraining recipe with crash-safe checkpoints and exact resume.
/// With no <c>--data</c>, trains a tiny model on the built-in corpus with the byte tokenizer (about a minute on a CPU).
/// </summary>
public sealed class TrainCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "train";

    /// <inheritdoc/>
    public string Summary => "Train a MiniMind model: pretrain, sft, lora, dpo, distill, grpo, ppo (crash-safe checkpoints, exact resume); no options = built-in demo run";

    private const string BuiltinRun = TrainStages.BuiltinRun;
    private static readonly RecipeDefaults P = TrainStages.Pretrain.Defaults;
    private static readonly string[] Demo = { BuiltinRun };

    /// <summary><c>--data</c>.</summary>
    public static readonly CliOption<string?> Data = Opt.String("data", "PATH", null,
        "jsonl ({\"text\": ...} per line; for --stage sft/lora/distill {\"conversations\": [...]} rendered with the tokenizer's chat template, loss on the assistant spans; for --stage dpo {\"chosen\": [...], \"rejected\": [...]}) or a token file from 'minimind tokenize'")
        .DefaultIs("the built-in corpus; the built-in conversations for sft/lora/distill; built-in preference pairs for dpo").Sample("corpus.bin");
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("none: needed with a jsonl --data").Or("byte", BuiltinRun);
    /// <summary><c>--max-seq-len</c>: tokens per row (and the model's context when given).</summary>
    public static readonly CliOption<int> MaxSeqLen = Opt.Int("max-seq-len", "N", P.MaxSeqLen, "tokens per row incl. bos/eos; also the model's context").Or(128, BuiltinRun).AtLeast(3).Sample("96");
    /// <summary><c>--from-weight</c>.</summary>
    public static readonly CliOption<string?> FromWeight = Opt.String("from-weight", "NAME|PATH", null,
        "start from <out-dir>/NAME_<dim>[_moe].pth, a .pth/.safetensors file or a HuggingFace folder (any generation's key names, prefixes stripped; strict: a parameter it does not fill or a key the model does not use is refused, naming them); 'none': random weights").DefaultIs("the stage's: none for pretrain, pretrain for sft, full_sft for lora/dpo/distill (dpo: also its frozen reference)").Sample("pretrain");
    /// <summary><c>--allow-partial-load</c>.</summary>
    public static readonly CliOption<bool> AllowPartialLoad = Opt.Flag("allow-partial-load",
        "let --from-weight fill only the parameters it has (MiniMind's strict=False): the rest stay at random initialisation and unused file keys are listed; without it any mismatch is refused, naming the keys");
    /// <summary><c>--epochs</c>.</summary>
    public static readonly CliOption<int> Epochs = Opt.Int("epochs", "N", P.Epochs, "passes over the data").Or(P.DemoEpochs, BuiltinRun).AtLeast(1).Sample("5");
    /// <summary><c>--batch-size</c>.</summary>
    public static readonly CliOption<int> BatchSize = Opt.Int("batch-size", "N", P.BatchSize, "rows per micro-batch").Or(P.DemoBatchSize, BuiltinRun).AtLeast(1);
    /// <summary><c>--learning-rate</c>.</summary>
    public static readonly CliOption<double> LearningRate = Opt.Double("learning-rate", "X", P.LearningRate, "peak learning rate of the cosine schedule").Or(P.DemoLearningRate, BuiltinRun).Positive().Sample("3e-3");
    /// <summary><c>--accumulation-steps</c>.</summary>
    public static readonly CliOption<int> AccumulationSteps = Opt.Int("accumulation-steps", "N", P.AccumulationSteps, "micro-batches per optimizer step").Or(1, BuiltinRun).AtLeast(1);
    /// <summary><c>--grad-clip</c>.</summary>
    public static readonly CliOption<double> GradClip = Opt.Double("grad-clip", "X", 1.0, "clip_grad_norm_ max norm (0 = off)").AtLeast(0);
    /// <summary><c>--max-steps</c>.</summary>
    public static readonly CliOption<long?> MaxSteps = Opt.LongOrNull("max-steps", "N", "stop after this many optimizer steps in total, across resumes").AtLeast(1).DefaultIs("all epochs");
    /// <summary><c>--seed</c>.</summary>
    public static readonly CliOption<long> Seed = Opt.Long("seed", "N", 42, "seed of the initialisation and the data order");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("auto");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--out-dir</c>.</summary>
    public static readonly CliOption<string?> OutDir = Opt.String("out-dir", "DIR", "out", "where weights and checkpoints go");
    /// <summary><c>--save-weight</c>.</summary>
    public static readonly CliOption<string?> SaveWeight = Opt.String("save-weight", "NAME", P.SaveWeight, "file name prefix: NAME_<dim>[_moe].pth").DefaultIs("the stage's: pretrain, full_sft, lora_medical (--lora-name), dpo, full_dist").Sample("run2");
    /// <summary><c>--save-interval</c>.</summary>
    public static readonly CliOption<int> SaveInterval = Opt.Int("save-interval", "N", P.SaveInterval, "optimizer steps between checkpoints").Or(50, BuiltinRun).AtLeast(1);
    /// <summary><c>--log-interval</c>.</summary>
    public static readonly CliOption<int> LogInterval = Opt.Int("log-interval", "N", P.LogInterval, "optimizer steps between log lines").Or(10, BuiltinRun).AtLeast(1);
    /// <summary><c>--keep-last</c>.</summary>
    public static readonly CliOption<int> KeepLast = Opt.Int("keep-last", "K", 3, "step folders kept (older ones are pruned)").AtLeast(1);
    /// <summary><c>--save-dtype</c>.</summary>
    public static readonly CliOption<string> SaveDtype = Opt.Choice("save-dtype", "f16", "dtype of the .pth weights (f16 as MiniMind; the resume state is always f32)", "f32", "f16", "bf16");
    /// <summary><c>--export-minimind-resume</c>.</summary>
    public static readonly CliOption<bool> ExportMinimindResume = Opt.Flag("export-minimind-resume", "also write checkpoints/<name>_resume.pth in MiniMind's resume layout");
    /// <summary><c>--plot</c>.</summary>
    public static readonly CliOption<bool> Plot = Opt.Flag("plot",
        "write the training chart <out-dir>/<name>_loss.png and .svg at every save: loss raw and smoothed, validation loss, learning rate, grad norm, skipped updates, RL reward (from the metrics jsonl; 'minimind plot' draws it, and compares runs, at any time)");
    /// <summary><c>--plot-x</c>.</summary>
    public static readonly CliOption<string> PlotX = Opt.Choice("plot-x", "step", "x axis of the --plot chart (implies --plot): optimizer steps, tokens trained on, or training time", "step", "tokens", "time");
    /// <summary><c>--keep-every</c>.</summary>
    public static readonly CliOption<int> KeepEvery = Opt.Int("keep-every", "N", 0, "pin every step folder whose step is a multiple of N: never pruned (0 = none)").AtLeast(0).Sample("2");
    /// <summary><c>--minimind-root</c>.</summary>
    public static readonly CliOption<string?> MinimindRoot = Opt.String("minimind-root", "DIR", null,
        "write MiniMind's layout where its scripts look: DIR/checkpoints/<name>_resume.pth and <name>.pth (lm_checkpoint), DIR/out/<name>.pth (--from_weight)").Sample("minimind");
    /// <summary><c>--no-space-check</c>.</summary>
    public static readonly CliOption<bool> NoSpaceCheck = Opt.Flag("no-space-check", "skip the free-space check before each save (for filesystems that misreport free space)");
    /// <summary><c>--async-save</c>.</summary>
    public static readonly CliOption<bool> AsyncSave = Opt.Flag("async-save",
        "write each checkpoint on a background thread while training continues: training waits only for a host copy of the resume state, " +
        "kept between saves (12 bytes per trained parameter: weights, AdamW m and v; 77 MB at 6.4M parameters, 310 MB for minimind2's 25.8M); " +
        "'--async-save false' writes before training continues and frees that copy after each save (for tight memory)", def: true);
    /// <summary><c>--max-bad-steps</c>.</summary>
    public static readonly CliOption<int> MaxBadSteps = Opt.Int("max-bad-steps", "N", DivergenceGuard.DefaultMaxBadSteps, "stop after N skipped (non-finite loss or gradient norm) steps in a row").AtLeast(1).Sample("2");
    /// <summary><c>--loss-spike</c>.</summary>
    public static readonly CliOption<double> LossSpike = Opt.Double("loss-spike", "X", DivergenceGuard.DefaultSpikeFactor,
        "stop when a step's loss exceeds X times the median of the last 50 steps' (0 = off)").AtLeast(0).Sample("5");
    /// <summary><c>--tensorboard</c>.</summary>
    public static readonly CliOption<string?> TensorBoard = Opt.String("tensorboard", "DIR", null,
        "also write TensorBoard scalars (loss, lr, grad norm, tokens/s, MoE aux loss) to DIR/events.out.tfevents.*, continued across resumes (each step once)").Sample("out/tb");
    /// <summary><c>--resume</c>.</summary>
    public static readonly CliOption<bool> Resume = Opt.Flag("resume", "continue from the newest checkpoint that verifies (a damaged newest one is reported and skipped); starts fresh when there is none");
    /// <summary><c>--resume-from</c>.</summary>
    public static readonly CliOption<string?> ResumeFrom = Opt.String("resume-from", "PATH", null, "a step_NNNNNN folder, or a MiniMind *_resume.pth written by PyTorch").Sample("out/checkpoints/x/step_000010");
    /// <summary><c>--allow-data-change</c>.</summary>
    public static readonly CliOption<bool> AllowDataChange = Opt.Flag("allow-data-change",
        "resume on data whose rows (or their order) differ from the checkpoint's, deliberately: refused otherwise, naming both hashes; the metrics log records the change (a different sample count or row length is always refused)");

    /// <summary><c>--eval-data</c>.</summary>
    public static readonly CliOption<string?> EvalData = Opt.String("eval-data", "PATH", null,
        "held-out rows in the stage's --data format (jsonl or token file): their loss and perplexity every --eval-interval steps and at the end, " +
        "into the log, the metrics jsonl (val_loss, val_perplexity), TensorBoard (val/loss) and the --plot; never changes the trained weights").Sample("valid.jsonl");
    /// <summary><c>--eval-interval</c>.</summary>
    public static readonly CliOption<int?> EvalInterval = Opt.IntOrNull("eval-interval", "N", "optimizer steps between validations (needs --eval-data)")
        .AtLeast(1).DefaultIs("the --save-interval");
    /// <summary><c>--eval-batches</c>.</summary>
    public static readonly CliOption<int> EvalBatches = Opt.Int("eval-batches", "K", 0,
        "validate on the first K x --batch-size rows of --eval-data, the same rows every time (0 = every row; needs --eval-data)").AtLeast(0).Sample("4");
    /// <summary><c>--sample-prompts</c>.</summary>
    public static readonly CliOption<string?> SamplePrompts = Opt.String("sample-prompts", "FILE", null,
        "prompts (one per line, or a .jsonl of {\"prompt\": ...}): greedy continuations (chat replies for sft/lora/dpo/distill) every --sample-interval steps and at the end, into the log, the metrics jsonl and TensorBoard text").Sample("prompts.txt");
    /// <summary><c>--sample-interval</c>.</summary>
    public static readonly CliOption<int?> SampleInterval = Opt.IntOrNull("sample-interval", "N", "optimizer steps between samples (needs --sample-prompts)")
        .AtLeast(1).DefaultIs("the --eval-interval, else the --save-interval");
    /// <summary><c>--sample-tokens</c>.</summary>
    public static readonly CliOption<int> SampleTokens = Opt.Int("sample-tokens", "N", 64, "tokens generated per sample at most (needs --sample-prompts)").AtLeast(1);

    /// <summary><c>--dist-timeout</c>.</summary>
    public static readonly CliOption<double> DistTimeout = Opt.Double("dist-timeout", "S", 300,
        "under mpirun: seconds a rank waits for another before failing, naming it (raise it when rank 0's checkpoint writes take longer)").Positive();

    /// <summary>Everything <c>minimind train</c> accepts.</summary>
    public static readonly OptionTable Table = new("train",
        new[] { "train [--stage pretrain|sft|lora|dpo|distill|grpo|ppo] [--data FILE.jsonl|FILE.bin] [options]" },
        """
        One training loop for every MiniMind stage (--stage; each stage's defaults are those of MiniMind's
        script for it, listed at the end; the defaults shown per option are pretraining's, and
        'minimind train --stage S --help' shows stage S's instead).
        The recipe (trainer/train_pretrain.py and the others): seeded shuffle per epoch, AdamW
        (betas 0.9/0.999, eps 1e-8, weight decay 0.01), cosine schedule lr·(0.1 + 0.45·(1 + cos(π·step/total))),
        gradient accumulation and clip_grad_norm_. "Step" means an optimizer step everywhere.
        Without --data it trains a tiny model (minimind-v1 layout, dim 64, 2 layers, 4/2 heads, byte tokenizer)
        on the built-in corpus: the "built-in run" defaults below; every option still applies. With --data
        a new model is minimind3 unless --arch (or --from-weight FILE) says otherwise.

        Every --save-interval steps, at the end and on Ctrl+C/SIGTERM it writes
          <out-dir>/<save-weight>_<dim>[_moe].pth                     PyTorch weights (torch.load-able)
          <out-dir>/checkpoints/<save-weight>_<dim>[_moe]/step_NNNNNN/  full resume state (weights, AdamW,
                                                                     counters, data position, checksums)
        A resumed run continues bit for bit as if never interrupted (same device). Checkpoints are taken
        only at optimizer-step boundaries, so no partial accumulation window is ever lost or duplicated.
        Saving does not stall training (--async-save): the state is copied at the step boundary and written,
        fsynced and committed on a background thread; one save is in flight at most (the next waits for it
        and says so); a background write that fails stops the run at the next step. Each save's log line
        and its metrics.jsonl "save" record give the time training was blocked and the write's own time.
        The .pth carries its architecture and tokenizer, so 'minimind generate --weights FILE' needs nothing else.

        Divergence guard: a step whose loss or gradient norm is not finite is skipped (never reaches the
        weights) and printed; no checkpoint is written while the last update was skipped; a save whose
        weights or AdamW moments are not finite, or whose weights give the next batch a non-finite or spiking
        loss, is refused. A run stopped by the guard exits with code 3; its newest checkpoint is the last good one.
        One run per folder: the checkpoint folder is locked (run.lock, released by the OS when the process
        dies); a second trainer on it fails at once naming the holder's PID and command line. A save that fails
        (disk full, I/O error) removes its temporary files, leaves the previous checkpoint and .pth as they
        were, and stops the run with exit code 1 and the path in the message.
        """,
        new[]
        {
            new OptionGroup("Data", new CliOption[] { Data, Tokenizer, MaxSeqLen, FromWeight, AllowPartialLoad }.Concat(SftRowOptions.Options).ToArray()),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
            new OptionGroup("Recipe", Epochs, BatchSize, LearningRate, AccumulationSteps, GradClip, MaxSteps, Seed, Device, Dtype),
            new OptionGroup("Output", OutDir, SaveWeight, SaveInterval, LogInterval, KeepLast, KeepEvery, SaveDtype, AsyncSave, ExportMinimindResume, MinimindRoot, Plot, PlotX, TensorBoard, NoSpaceCheck),
            new OptionGroup("Divergence guard", MaxBadSteps, LossSpike),
            new OptionGroup("Evaluation while training", EvalData, EvalInterval, EvalBatches, SamplePrompts, SampleInterval, SampleTokens),
            new OptionGroup("Resuming", Resume, ResumeFrom, AllowDataChange),
            new OptionGroup("Several processes (mpirun)", DistTimeout),
            TrainStages.Group,
        },
        new[]
        {
            "train",
            "train --resume",
            "train --rope-theta 1e6 --vocab-size 300 --dim 128      # the built-in run, other shapes",
            "train --data pretrain_hq.jsonl --tokenizer model/ --arch minimind2 --max-seq-len 340",
            "mpirun -np 2 minimind train --accumulation-steps 1   # the same run as: minimind train --accumulation-steps 2",
            "train --stage sft                                      # after 'train': SFT from out/pretrain_64.pth",
            "train --stage lora --lora-name lora_identity            # adapters on out/full_sft_64.pth",
            "train --stage dpo                                      # after 'train --stage sft': DPO from out/full_sft_64.pth, a frozen copy as reference",
            "train --stage distill --teacher-weight big/full_sft_768.pth --data sft.jsonl --tokenizer model/",
            "train --stage grpo                                     # after 'train --stage sft': CISPO on the built-in verifiable tasks",
            "train --stage ppo                                      # after 'train --stage sft': PPO (actor + critic) on the same tasks",
        },
        """
        Ctrl+C (or SIGTERM) finishes the current step, waits for a checkpoint still being written, writes a
        checkpoint and exits 0; a second Ctrl+C exits at once, leaving the last complete checkpoint untouched.

        Data parallel: 'mpirun -np W minimind train ...' (Open MPI: apt-get install openmpi-bin libopenmpi-dev).
        Each rank computes --accumulation-steps micro-batches per step, so a step takes G = W x accumulation
        micro-batches; which samples form each one depends only on (seed, epoch, step, index), never on W.
        Gradients are summed in one fixed pairwise tree: W = 1, 2, 4, ... with the same G give bit-identical
        weights (other W: deterministic, said at start-up). Rank 0 prints (world size, tok/s per rank,
        communication share), writes metrics and checkpoints; a step folder is committed only after every
        rank reached it. --resume works at any W dividing G (accumulation becomes G/W, printed). CPU ranks
        on one machine split its cores. Ranks started with different arguments or data are refused before
        the first step, naming the field; a rank that stops answering is named after --dist-timeout.
        """ + "\n\n" + TrainStages.Describe());

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>The built-in demo model: minimind-v1's layout at toy size for the byte tokenizer.</summary>
    public static ModelConfig TinyConfig(int vocab, int maxSeqLen) => ModelConfig.Preset("minimind-v1") with
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = vocab, MaxSeqLen = maxSeqLen,
    };

    /// <summary>What one <c>minimind train</c> command line asks for, bound from <see cref="Table"/> and validated.</summary>
    public sealed record Settings(string? DataPath, int MaxSeqLen, string TokSpec, TrainOptions Options, ModelConfig Config,
        bool Resume, string? ResumeFrom, string? FromWeight, string Device, StageRecipe Stage, StageSettings StageOptions, double DistTimeout = 300,
        bool AllowPartialLoad = false)
    {
        /// <summary>How conversation rows are built (--sft-overflow, --add-system-ratio, --empty-think-ratio).</summary>
        public SftRowOptions Rows { get; init; } = new(Model.Data.Sft.SftOverflow.Truncate, 0.2, 0.2);
        /// <summary>Validation and samples while training.</summary>
        public EvalWhileTraining Eval { get; init; } = EvalWhileTraining.None;
    }

    /// <summary>What --eval-data/--eval-interval/--eval-batches and --sample-prompts/--sample-interval/--sample-tokens ask for.</summary>
    public sealed record EvalWhileTraining(string? Data, int EvalInterval, int EvalBatches, string? Prompts, int SampleInterval, int SampleTokens)
    {
        /// <summary>Nothing evaluated.</summary>
        public static EvalWhileTraining None { get; } = new(null, 0, 0, null, 0, 0);
    }

    // The options whose defaults are the stage's (TrainStages), read by Bind and by the per-stage --help.
    private static readonly StageDefault<int> StageMaxSeqLen = new(MaxSeqLen, r => r.Defaults.MaxSeqLen);
    private static readonly StageDefault<string?> StageFromWeight = new(FromWeight, r => r.Defaults.FromWeight, r => r.Defaults.FromWeight);
    private static readonly StageDefault<int> StageEpochs = new(Epochs, r => r.Defaults.Epochs, r => r.Defaults.DemoEpochs);
    private static readonly StageDefault<int> StageBatchSize = new(BatchSize, r => r.Defaults.BatchSize, r => r.Defaults.DemoBatchSize);
    private static readonly StageDefault<double> StageLearningRate = new(LearningRate, r => r.Defaults.LearningRate, r => r.Defaults.DemoLearningRate);
    private static readonly StageDefault<int> StageAccumulationSteps = new(AccumulationSteps, r => r.Defaults.AccumulationSteps);
    private static readonly StageDefault<int> StageLogInterval = new(LogInterval, r => r.Defaults.LogInterval);
    private static readonly StageDefault<int> StageSaveInterval = new(SaveInterval, r => r.Defaults.SaveInterval);
    private static readonly StageDefault<string?> StageSaveWeight = new(SaveWeight, r => r.Defaults.SaveWeight, r => r.Defaults.SaveWeight);
    private static readonly StageDefault<double> StageLossSpike = new(LossSpike, r => r.Defaults.LossSpike, r => r.Defaults.LossSpike);
    private static readonly IStageDefault[] StageDefaults =
    {
        StageMaxSeqLen, StageFromWeight, StageEpochs, StageBatchSize, StageLearningRate, StageAccumulationSteps, StageLogInterval, StageSaveInterval, StageSaveWeight,
        StageLossSpike, TrainStages.BetaDefault, TrainStages.GenerationsDefault, TrainStages.MaxGenLenDefault, TrainStages.ThinkingRatioDefault,
    };

    /// <summary><c>train --stage S --help</c>: the page for that stage alone, its defaults beside each option and no other
    /// stage's options; null (the full page) without --stage.</summary>
    public string? HelpFor(IReadOnlyList<string> args)
    {
        string? name = null;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--stage" && i + 1 < args.Count) name = args[i + 1];
            else if (args[i].StartsWith("--stage=", StringComparison.Ordinal)) name = args[i]["--stage=".Length..];
        }
        if (name is null) return null;
        var stage = TrainStages.Get(TrainStages.Stage.Parse(name));
        return $"--stage {stage.Name} (trainer/{stage.Script}): {stage.Summary}; its defaults are shown. 'minimind train --help' lists every stage.\n\n" +
            Table.RenderHelp(o => TrainStages.OwnersOf(o) is not { Count: > 0 } owners || owners.Contains(stage),
                o => StageDefaults.FirstOrDefault(d => ReferenceEquals(d.Option, o))?.Shown(stage)
                     ?? (ReferenceEquals(o, TrainStages.Stage) ? stage.Name : null));
    }

    /// <summary>Binds and validates a command line (reads only a --from-weight file's shapes; opens no data).</summary>
    public static Settings Bind(ArgParser args) => Bind(args, out _);

    /// <summary>As <see cref="Bind(ArgParser)"/>; <paramref name="fromWeightSource"/> is the --from-weight file when it was
    /// opened for its architecture (so the run does not read it again).</summary>
    public static Settings Bind(ArgParser args, out Minimind.Checkpoint.CheckpointSource? fromWeightSource)
    {
        string? dataPath = args.Get(Data);
        bool builtin = dataPath is null;
        var (stage, stageOptions) = TrainStages.Bind(args, builtin);
        var rows = SftRowOptions.Bind(args, stage, dataPath);
        int maxSeqLen = StageMaxSeqLen.Pick(args, stage, builtin);
        string[] mode = builtin ? Demo : Array.Empty<string>();
        string tokSpec = args.Get(Tokenizer, mode)
            ?? (dataPath!.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? "" : throw new UsageException("--tokenizer is needed to read a jsonl --data file (a tokenizer.json, a folder holding one, or 'byte')"));
        var options = new TrainOptions
        {
            Epochs = StageEpochs.Pick(args, stage, builtin),
            BatchSize = StageBatchSize.Pick(args, stage, builtin),
            LearningRate = StageLearningRate.Pick(args, stage, builtin),
            AccumulationSteps = StageAccumulationSteps.Pick(args, stage, builtin),
            GradClip = args.Get(GradClip),
            LogInterval = StageLogInterval.Pick(args, stage, builtin),
            SaveInterval = StageSaveInterval.Pick(args, stage, builtin),
            MaxSteps = args.Get(MaxSteps),
            OutDir = args.Get(OutDir)!,
            SaveWeight = TrainStages.SaveWeight(args, stage, SaveWeight),
            Seed = args.Get(Seed),
            KeepLast = args.Get(KeepLast),
            SaveDtype = TorchDTypes.ParseShort(args.Get(SaveDtype)),
            ExportMinimindResume = args.Get(ExportMinimindResume),
            Plot = args.Get(Plot) || args.Has(PlotX), // an x axis for the chart asks for the chart
            PlotX = MetricsHistory.ParseAxis(args.Get(PlotX)),
            Dtype = PrecisionRounding.Parse(args.Get(Dtype)),
            KeepEvery = args.Get(KeepEvery),
            MaxBadSteps = args.Get(MaxBadSteps),
            LossSpike = StageLossSpike.Pick(args, stage, builtin),
            Schedule = stage.Defaults.Schedule,
            MinimindRoot = args.Get(MinimindRoot),
            CheckFreeSpace = !args.Get(NoSpaceCheck),
            AsyncSave = args.Get(AsyncSave),
            TokenizerSpec = tokSpec.Length == 0 ? null : tokSpec == "byte" ? tokSpec : Path.GetFullPath(tokSpec),
            TensorBoardDir = args.Get(TensorBoard),
            AllowDataChange = args.Get(AllowDataChange),
            DataSignature = rows.Signature(stage),
        };
        bool resume = args.Get(Resume);
        string? resumeFrom = args.Get(ResumeFrom);
        string? fromWeight = StageFromWeight.Pick(args, stage, builtin);
        if (fromWeight == "none") fromWeight = null;
        string device = args.Get(Device);
        // A --from-weight given as a file or folder, or a MiniMind *_resume.pth to continue, also fixes the shapes (read from it).
        string? fromWeightFile = resumeFrom is not null && File.Exists(resumeFrom) ? resumeFrom
            : fromWeight is not null && (File.Exists(fromWeight) || Directory.Exists(fromWeight)) ? fromWeight
            : fromWeight is not null ? EarlierStageFile(args, fromWeight, options.OutDir) : null;
        // The built-in run keeps its toy size unless --arch names a preset; every override still applies.
        var tiny = builtin ? TinyConfig(new ByteTokenizer().VocabSize, maxSeqLen) : (ModelConfig?)null;
        var fileSource = fromWeightFile is null ? null : ModelOptions.Open(fromWeightFile);
        fromWeightSource = fromWeightFile != resumeFrom ? fileSource : null;
        var config = ModelOptions.Resolve(args, fileSource, tiny, loaderNamesKeys: true);
        bool allowPartial = args.Get(AllowPartialLoad);
        if (args.Has(MaxSeqLen)) config = config with { MaxSeqLen = maxSeqLen };
        double distTimeout = args.Get(DistTimeout);
        var eval = BindEval(args, options.SaveInterval);
        args.EnsureAllUsed();
        try { options.Validate(); config.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (resume && resumeFrom is not null) throw new UsageException("give either --resume or --resume-from, not both");
        return new Settings(dataPath, maxSeqLen, tokSpec, options, config, resume, resumeFrom, fromWeight, device, stage, stageOptions, distTimeout, allowPartial) { Rows = rows, Eval = eval };
    }

    // The evaluation flags; an interval or count given without the file it applies to is refused rather than ignored.
    private static EvalWhileTraining BindEval(ArgParser args, int saveInterval)
    {
        string? data = args.Get(EvalData), prompts = args.Get(SamplePrompts);
        foreach (var o in new CliOption[] { EvalInterval, EvalBatches })
            if (data is null && args.Has(o)) throw new UsageException($"--{o.Name} applies to the validation rows: give --eval-data FILE");
        foreach (var o in new CliOption[] { SampleInterval, SampleTokens })
            if (prompts is null && args.Has(o)) throw new UsageException($"--{o.Name} applies to the samples: give --sample-prompts FILE");
        int evalInterval = args.Get(EvalInterval) ?? saveInterval;
        int sampleInterval = args.Get(SampleInterval) ?? (data is not null ? evalInterval : saveInterval);
        return new EvalWhileTraining(data, data is null ? 0 : evalInterval, args.Get(EvalBatches), prompts, prompts is null ? 0 : sampleInterval, args.Get(SampleTokens));
    }

    // --from-weight NAME without architecture flags: the one <out-dir>/NAME_<dim>[_moe].pth an earlier stage wrote, whose
    // architecture record is believed (the stage needs no --dim again). With flags, the name is completed from them as before.
    private static string? EarlierStageFile(ArgParser args, string name, string outDir)
    {
        if (name.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || !Directory.Exists(outDir)) return null;
        if (ModelOptions.Architecture.Options.Any(o => !ReferenceEquals(o, ModelOptions.MaxSeqLen) && args.Has(o))) return null;
        var found = Directory.EnumerateFiles(outDir, name + "_*.pth")
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileNameWithoutExtension(f)[(name.Length + 1)..], @"^\d+(_moe)?$"))
            .Order(StringComparer.Ordinal).ToList();
        if (found.Count > 1)
            throw new UsageException($"--from-weight {name}: {outDir} holds {string.Join(", ", found.Select(Path.GetFileName))}; give --dim (and --use-moe) to pick one, or --from-weight PATH");
        return found.Count == 1 ? found[0] : null;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var settings = Bind(args, out var fromWeightSource);
        using var comm = MpiCommunicator.FromEnvironment(TimeSpan.FromSeconds(settings.DistTimeout));
        try { return Train(args, settings, comm, fromWeightSource); }
        catch (MpiException e) when (comm.Size > 1)
        {
            // One rank's failure ends every rank (otherwise the others would wait out their own timeouts).
            Console.Error.WriteLine($"minimind train: error: {e.Message}");
            comm.Abort(1);
            return 1;
        }
    }

    private static int Train(ArgParser args, Settings settings, ICommunicator comm, Minimind.Checkpoint.CheckpointSource? fromWeightSource)
    {
        // Rank 0 speaks for the job; the other ranks' errors still reach stderr.
        var log = comm.Rank == 0 ? Console.Out : TextWriter.Null;
        var (recipe, options) = (settings.Stage, settings.Options);
        ITokenizer? tokenizer = settings.TokSpec.Length > 0 ? TokenizerLoader.Load(settings.TokSpec) : null;
        using var data = recipe.OpenData(new DataRequest(settings.DataPath, settings.TokSpec, tokenizer, settings.MaxSeqLen, args.Has(MaxSeqLen), log, settings.StageOptions, options.Seed, settings.Rows));
        var config = settings.Config;
        if (tokenizer is not null)
            ModelOptions.CheckTokenizerFits(tokenizer.VocabSize, $"--tokenizer {settings.TokSpec}", config.VocabSize, "--vocab-size, or the architecture of the --from-weight file");
        if (config.MaxSeqLen < data.Data.Positions) config = config with { MaxSeqLen = data.Data.Positions };

        using var backend = CreateBackend(settings.Device, comm, log);
        using var model = MiniMindModel.Create(config, backend, recipe.RowsPerSample(settings.StageOptions) * options.BatchSize, data.Data.SeqLen);
        model.Precision = options.Dtype;
        model.InitRandom(checked((int)options.Seed));
        var init = InitialWeights.For(settings.FromWeight, args.Has(FromWeight), settings.AllowPartialLoad, options, config, fromWeightSource);
        using var setup = recipe.CreateStage(new StageContext(settings.StageOptions, model, data.Data, options, backend, log, init));
        using var trainer = new Trainer(setup.Stage, options, log, data.Description, comm);
        using var evalData = OpenEvaluation(trainer, model, settings, recipe, tokenizer, data.Data.SeqLen, log);
        // One run per checkpoint folder (rank 0 holds it for the job); the OS drops the lock when the process dies,
        // so a killed run never blocks --resume.
        using var runLock = comm.Rank == 0 ? RunLock.Acquire(trainer.Paths.CheckpointRoot, CommandLine()) : null;
        log.WriteLine($"model: {config.Arch} dim {config.Dim}, {config.NLayers} layers, {config.NHeads}/{config.NKvHeads} heads, vocab {config.VocabSize}{(config.UseMoe ? $", MoE {config.NExperts}x top-{config.TopK}" : "")}: {model.Parameters.TotalElements:N0} parameters");
        bool resumed = Start(trainer, setup, model, settings, init, log);
        // --log-rollouts: a resume keeps the log's lines up to its step; a fresh start under --resume (no checkpoint yet) keeps none.
        using var rollouts = trainer.Rollouts = RolloutLog.Open(setup.Stage, settings.StageOptions.Rollouts, comm,
            resumed ? trainer.State.OptimizerStep : settings.Resume ? 0 : null, log);
        // After the resume: a checkpoint's G (micro-batches per step) decides the steps per epoch.
        log.WriteLine($"data: {data.Description}: {data.Data.Count:N0} samples of {data.Data.SeqLen} tokens; {trainer.MicroBatchesPerEpoch} batches/epoch, " +
            $"{trainer.StepsPerEpoch} optimizer steps/epoch ({trainer.Parallel.MicroBatchesPerStep} micro-batch{(trainer.Parallel.MicroBatchesPerStep == 1 ? "" : "es")} per step)");

        log.WriteLine(trainer.Parallel.Describe());
        trainer.CheckRanksAgree(new KeyValuePair<string, string>[] { new("--device", backend.Name) });
        if (trainer.IsDone)
        {
            log.WriteLine($"nothing to do: the run is complete at step {trainer.State.OptimizerStep}/{trainer.StopStep}. Weights: {trainer.Paths.WeightsPath}");
            return 0;
        }
        log.WriteLine($"training: {trainer.StopStep - trainer.State.OptimizerStep} optimizer steps (schedule total {trainer.State.TotalSteps}), batch {options.BatchSize} x {trainer.Parallel.PerRank} accumulation x {comm.Size} rank(s), lr {options.LearningRate}");
        TrainOutcome outcome;
        using (var stop = new StopSignal(log)) outcome = trainer.Run(stop, resumed);
        return TrainReport.Print(outcome, trainer, settings, setup.Lora is not null, log);
    }

    // --eval-data and --sample-prompts: the held-out rows opened as the stage opens its --data (same tokenizer, row length and
    // row options), scored in batches of --batch-size rows; the prompts answered through the chat template for chat stages.
    private static StageData? OpenEvaluation(Trainer trainer, MiniMindModel model, Settings s, StageRecipe recipe, ITokenizer? tokenizer, int seqLen, TextWriter log)
    {
        var e = s.Eval;
        if (e.Data is null && e.Prompts is null) return null;
        StageData? held = null;
        HeldOutLoss? loss = null;
        try
        {
            if (e.Data is not null)
            {
                if (!File.Exists(e.Data)) throw new FileNotFoundException($"--eval-data {e.Data}: file not found", e.Data);
                held = recipe.OpenData(new DataRequest(e.Data, s.TokSpec, tokenizer, s.MaxSeqLen, true, TextWriter.Null, s.StageOptions, s.Options.Seed, s.Rows));
                if (held.Data.SeqLen > seqLen)
                    throw new UsageException($"--eval-data {e.Data} holds rows of {held.Data.SeqLen + 1} tokens, longer than the training rows ({seqLen + 1}): tokenize it with the same --max-seq-len");
                int batch = s.Options.BatchSize;
                loss = new HeldOutLoss(held.Data, batch, e.EvalBatches == 0 ? null : (long)e.EvalBatches * batch);
                log.WriteLine($"validation: {held.Description}: {loss.Rows:N0} rows every {e.EvalInterval} steps and at the end");
            }
            SampleSet? samples = null;
            if (e.Prompts is not null)
            {
                var prompts = GreedySamples.ReadPrompts(e.Prompts);
                var tok = tokenizer ?? throw new UsageException("--sample-prompts needs --tokenizer to encode the prompts (the --data is a token file)");
                var chat = recipe.TrainsOnReplies && recipe.ReadsConversations ? ChatFormat.Load(s.TokSpec) : null;
                samples = new SampleSet(prompts, tok, chat, e.SampleTokens);
                log.WriteLine($"samples: {prompts.Count} prompt(s) from {e.Prompts}, greedy, {(chat is null ? "continuations" : "chat replies")} of at most {e.SampleTokens} tokens every {e.SampleInterval} steps and at the end");
            }
            trainer.Evaluation = new TrainingEvaluation(model, loss, e.EvalInterval, samples, e.SampleInterval);
            return held;
        }
        catch { held?.Dispose(); throw; }
    }

    // CPU ranks sharing a machine split its cores instead of oversubscribing them; GPU ranks take one device each (local rank r -> CUDA device r).
    private static IBackend CreateBackend(string device, ICommunicator comm, TextWriter log)
    {
        int threads = comm.LocalSize > 1 ? Math.Max(1, Environment.ProcessorCount / comm.LocalSize) : 0;
        var backend = BackendFactory.Create(device, threads, comm.LocalRank);
        log.WriteLine(BackendFactory.Describe(backend) + (comm.LocalSize > 1 && backend.Name == "cpu" ? $", {threads} thread(s) per rank for {comm.LocalSize} ranks on this machine" : ""));
        return backend;
    }

    // Resumes (--resume, --resume-from) or starts fresh, refusing a folder that already holds a run; --from-weight loads
    // the starting weights, and a LoRA run's frozen base on every start. Returns true when resumed.
    private static bool Start(Trainer trainer, StageSetup setup, MiniMindModel model, Settings s, InitialWeights? init, TextWriter log)
    {
        bool resumed = ResumeLoader.Load(trainer, s.Resume, s.ResumeFrom);
        if (!resumed)
        {
            var existing = ResumeStore.ListSteps(trainer.Paths.CheckpointRoot);
            if (existing.Count > 0 && !s.Resume)
                throw new IOException($"{trainer.Paths.CheckpointRoot} already holds checkpoints of a run (up to step {existing[0].Step}). " +
                    "Continue it with --resume, or pick another --out-dir or --save-weight, or delete that folder to start over.");
            init?.LoadInto(model, s.Options, log);
        }
        else if (setup.Lora is not null && init is not null) init.LoadInto(model, s.Options, log); // the frozen base is not in the checkpoint
        else if (init is not null) log.WriteLine("note: --from-weight is ignored when resuming (the checkpoint holds the weights)");
        if (setup.Lora is { } lora)
        {
            if (init is null) log.WriteLine("warning: --stage lora with --from-weight none adapts a randomly initialised base model");
            var keys = lora.AdaptedKeys.ToList();
            log.WriteLine($"LoRA: rank {lora.Rank} on {keys.Count} square linears ({string.Join(", ", keys.Take(4))}{(keys.Count > 4 ? ", ..." : "")}): {lora.Table.TotalElements:N0} trainable parameters");
        }
        return resumed;
    }

    /// <summary>Exit code of a run the divergence guard stopped (1 = an error such as a full disk, 2 = bad usage).</summary>
    public const int DivergedExitCode = 3;

    private static string CommandLine() => string.Join(' ', Environment.GetCommandLineArgs().Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
}

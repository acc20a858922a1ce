using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;
using Minimind.Model.Training;

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
    public string Summary => "Pretrain a MiniMind model (crash-safe checkpoints, exact resume); no options = built-in demo run";

    private const string BuiltinRun = "built-in run";

    /// <summary><c>--data</c>.</summary>
    public static readonly CliOption<string?> Data = Opt.String("data", "PATH", null,
        "jsonl ({\"text\": ...} per line) or a token file from 'minimind tokenize'").DefaultIs("the built-in corpus").Sample("corpus.bin");
    /// <summary><c>--tokenizer</c>.</summary>
    public static readonly CliOption<string?> Tokenizer = CommonOptions.Tokenizer("none: needed with a jsonl --data").Or("byte", BuiltinRun);
    /// <summary><c>--max-seq-len</c>: tokens per row (and the model's context when given).</summary>
    public static readonly CliOption<int> MaxSeqLen = Opt.Int("max-seq-len", "N", 512, "tokens per row incl. bos/eos; also the model's context").Or(128, BuiltinRun).AtLeast(3).Sample("96");
    /// <summary><c>--from-weight</c>.</summary>
    public static readonly CliOption<string?> FromWeight = Opt.String("from-weight", "NAME|PATH", null,
        "start from <out-dir>/NAME_<dim>[_moe].pth, a .pth/.safetensors file or a HuggingFace folder (any generation's key names, prefixes stripped; lists what did not load)").Sample("pretrain");
    /// <summary><c>--epochs</c>.</summary>
    public static readonly CliOption<int> Epochs = Opt.Int("epochs", "N", 1, "passes over the data").Or(3, BuiltinRun).AtLeast(1);
    /// <summary><c>--batch-size</c>.</summary>
    public static readonly CliOption<int> BatchSize = Opt.Int("batch-size", "N", 32, "rows per micro-batch").Or(16, BuiltinRun).AtLeast(1);
    /// <summary><c>--learning-rate</c>.</summary>
    public static readonly CliOption<double> LearningRate = Opt.Double("learning-rate", "X", 5e-4, "peak learning rate of the cosine schedule").Or(2e-3, BuiltinRun).Positive();
    /// <summary><c>--accumulation-steps</c>.</summary>
    public static readonly CliOption<int> AccumulationSteps = Opt.Int("accumulation-steps", "N", 8, "micro-batches per optimizer step").Or(1, BuiltinRun).AtLeast(1);
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
    public static readonly CliOption<string?> SaveWeight = Opt.String("save-weight", "NAME", "pretrain", "file name prefix: NAME_<dim>[_moe].pth");
    /// <summary><c>--save-interval</c>.</summary>
    public static readonly CliOption<int> SaveInterval = Opt.Int("save-interval", "N", 1000, "optimizer steps between checkpoints").Or(50, BuiltinRun).AtLeast(1);
    /// <summary><c>--log-interval</c>.</summary>
    public static readonly CliOption<int> LogInterval = Opt.Int("log-interval", "N", 100, "optimizer steps between log lines").Or(10, BuiltinRun).AtLeast(1);
    /// <summary><c>--keep-last</c>.</summary>
    public static readonly CliOption<int> KeepLast = Opt.Int("keep-last", "K", 3, "step folders kept (older ones are pruned)").AtLeast(1);
    /// <summary><c>--save-dtype</c>.</summary>
    public static readonly CliOption<string> SaveDtype = Opt.Choice("save-dtype", "f16", "dtype of the .pth weights (f16 as MiniMind; the resume state is always f32)", "f32", "f16", "bf16");
    /// <summary><c>--export-minimind-resume</c>.</summary>
    public static readonly CliOption<bool> ExportMinimindResume = Opt.Flag("export-minimind-resume", "also write checkpoints/<name>_resume.pth in MiniMind's resume layout");
    /// <summary><c>--plot</c>.</summary>
    public static readonly CliOption<bool> Plot = Opt.Flag("plot", "write <out-dir>/<name>_loss.png at every save");
    /// <summary><c>--tensorboard</c>.</summary>
    public static readonly CliOption<string?> TensorBoard = Opt.String("tensorboard", "DIR", null,
        "also write TensorBoard scalars (loss, lr, grad norm, tokens/s, MoE aux loss) to DIR/events.out.tfevents.*, continued across resumes (each step once)").Sample("out/tb");
    /// <summary><c>--resume</c>.</summary>
    public static readonly CliOption<bool> Resume = Opt.Flag("resume", "continue from the newest checkpoint that verifies (a damaged newest one is reported and skipped); starts fresh when there is none");
    /// <summary><c>--resume-from</c>.</summary>
    public static readonly CliOption<string?> ResumeFrom = Opt.String("resume-from", "PATH", null, "a step_NNNNNN folder, or a MiniMind *_resume.pth written by PyTorch").Sample("out/checkpoints/x/step_000010");

    /// <summary><c>--dist-timeout</c>.</summary>
    public static readonly CliOption<double> DistTimeout = Opt.Double("dist-timeout", "S", 300,
        "under mpirun: seconds a rank waits for another before failing, naming it (raise it when rank 0's checkpoint writes take longer)").Positive();

    /// <summary>Everything <c>minimind train</c> accepts.</summary>
    public static readonly OptionTable Table = new("train",
        new[] { "train [--data FILE.jsonl|FILE.bin] [options]" },
        """
        MiniMind's pretraining recipe (trainer/train_pretrain.py): seeded shuffle per epoch, AdamW
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
        """,
        new[]
        {
            new OptionGroup("Data", Data, Tokenizer, MaxSeqLen, FromWeight),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
            new OptionGroup("Recipe", Epochs, BatchSize, LearningRate, AccumulationSteps, GradClip, MaxSteps, Seed, Device, Dtype),
            new OptionGroup("Output", OutDir, SaveWeight, SaveInterval, LogInterval, KeepLast, SaveDtype, ExportMinimindResume, Plot, TensorBoard),
            new OptionGroup("Resuming", Resume, ResumeFrom),
            new OptionGroup("Several processes (mpirun)", DistTimeout),
        },
        new[]
        {
            "train",
            "train --resume",
            "train --rope-theta 1e6 --vocab-size 300 --dim 128      # the built-in run, other shapes",
            "train --data pretrain_hq.jsonl --tokenizer model/ --arch minimind2 --max-seq-len 340",
            "mpirun -np 2 minimind train --accumulation-steps 1   # the same run as: minimind train --accumulation-steps 2",
        },
        """
        Ctrl+C (or SIGTERM) finishes the current step, writes a checkpoint and exits 0; a second Ctrl+C exits
        at once, leaving the last complete checkpoint untouched.

        Data parallel: 'mpirun -np W minimind train ...' (Open MPI: apt-get install openmpi-bin libopenmpi-dev).
        Each rank computes --accumulation-steps micro-batches per step, so a step takes G = W x accumulation
        micro-batches; which samples form each one depends only on (seed, epoch, step, index), never on W.
        Gradients are summed in one fixed pairwise tree: W = 1, 2, 4, ... with the same G give bit-identical
        weights (other W: deterministic, said at start-up). Rank 0 prints (world size, tok/s per rank,
        communication share), writes metrics and checkpoints; a step folder is committed only after every
        rank reached it. --resume works at any W dividing G (accumulation becomes G/W, printed). CPU ranks
        on one machine split its cores. Ranks started with different arguments or data are refused before
        the first step, naming the field; a rank that stops answering is named after --dist-timeout.
        """);

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>The built-in demo model: minimind-v1's layout at toy size for the byte tokenizer.</summary>
    public static ModelConfig TinyConfig(int vocab, int maxSeqLen) => ModelConfig.Preset("minimind-v1") with
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = vocab, MaxSeqLen = maxSeqLen,
    };

    /// <summary>What one <c>minimind train</c> command line asks for, bound from <see cref="Table"/> and validated.</summary>
    public sealed record Settings(string? DataPath, int MaxSeqLen, string TokSpec, TrainOptions Options, ModelConfig Config,
        bool Resume, string? ResumeFrom, string? FromWeight, string Device, double DistTimeout = 300);

    /// <summary>Binds and validates a command line (reads only a --from-weight file's shapes; opens no data).</summary>
    public static Settings Bind(ArgParser args)
    {
        string? dataPath = args.Get(Data);
        bool builtin = dataPath is null;
        // The defaults of the mode this command line is in (see CliOption.Or).
        string[] mode = builtin ? new[] { BuiltinRun } : Array.Empty<string>();
        int maxSeqLen = args.Get(MaxSeqLen, mode);
        string tokSpec = args.Get(Tokenizer, mode)
            ?? (dataPath!.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? "" : throw new UsageException("--tokenizer is needed to read a jsonl --data file (a tokenizer.json, a folder holding one, or 'byte')"));
        var options = new TrainOptions
        {
            Epochs = args.Get(Epochs, mode),
            BatchSize = args.Get(BatchSize, mode),
            LearningRate = args.Get(LearningRate, mode),
            AccumulationSteps = args.Get(AccumulationSteps, mode),
            GradClip = args.Get(GradClip),
            LogInterval = args.Get(LogInterval, mode),
            SaveInterval = args.Get(SaveInterval, mode),
            MaxSteps = args.Get(MaxSteps),
            OutDir = args.Get(OutDir)!,
            SaveWeight = args.Get(SaveWeight)!,
            Seed = args.Get(Seed),
            KeepLast = args.Get(KeepLast),
            SaveDtype = TorchDTypes.ParseShort(args.Get(SaveDtype)),
            ExportMinimindResume = args.Get(ExportMinimindResume),
            Plot = args.Get(Plot),
            Dtype = PrecisionRounding.Parse(args.Get(Dtype)),
            TensorBoardDir = args.Get(TensorBoard),
        };
        bool resume = args.Get(Resume);
        string? resumeFrom = args.Get(ResumeFrom);
        string? fromWeight = args.Get(FromWeight);
        string device = args.Get(Device);
        // A --from-weight given as a file also fixes the shapes (read from the checkpoint).
        string? fromWeightFile = fromWeight is not null && (File.Exists(fromWeight) || Directory.Exists(fromWeight)) ? fromWeight : null;
        // The built-in run keeps its toy size unless --arch names a preset; every override still applies.
        var tiny = builtin ? TinyConfig(new ByteTokenizer().VocabSize, maxSeqLen) : (ModelConfig?)null;
        var config = ModelOptions.Parse(args, fromWeightFile, out _, tiny);
        if (args.Has(MaxSeqLen)) config = config with { MaxSeqLen = maxSeqLen };
        double distTimeout = args.Get(DistTimeout);
        args.EnsureAllUsed();
        try { options.Validate(); config.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (resume && resumeFrom is not null) throw new UsageException("give either --resume or --resume-from, not both");
        return new Settings(dataPath, maxSeqLen, tokSpec, options, config, resume, resumeFrom, fromWeight, device, distTimeout);
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var settings = Bind(args);
        using var comm = MpiCommunicator.FromEnvironment(TimeSpan.FromSeconds(settings.DistTimeout));
        try { return Train(args, settings, comm); }
        catch (MpiException e) when (comm.Size > 1)
        {
            // One rank's failure ends every rank (otherwise the others would wait out their own timeouts).
            Console.Error.WriteLine($"minimind train: error: {e.Message}");
            comm.Abort(1);
            return 1;
        }
    }

    private static int Train(ArgParser args, Settings settings, ICommunicator comm)
    {
        // Rank 0 speaks for the job; the other ranks' errors still reach stderr.
        var log = comm.Rank == 0 ? Console.Out : TextWriter.Null;
        var (dataPath, maxSeqLen, tokSpec, options, config, resume, resumeFrom, fromWeight, device, _) = settings;
        bool builtin = dataPath is null;

        // ---- data ------------------------------------------------------------------------------
        IPretrainSource data;
        string dataDesc;
        ITokenizer? tokenizer = tokSpec.Length > 0 ? TokenizerLoader.Load(tokSpec) : null;
        if (builtin)
        {
            data = BuiltinCorpus.CreateSource(tokenizer!, maxSeqLen);
            dataDesc = $"built-in corpus ({data.Count} documents, {tokSpec} tokenizer)";
        }
        else if (dataPath!.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
        {
            data = TokenFilePretrainSource.Open(dataPath);
            dataDesc = $"token file {dataPath}";
            if (data.SeqLen + 1 != maxSeqLen && args.Has(MaxSeqLen))
                log.WriteLine($"note: {dataPath} holds rows of {data.SeqLen + 1} tokens; --max-seq-len {maxSeqLen} is ignored");
        }
        else
        {
            if (!File.Exists(dataPath)) throw new FileNotFoundException($"--data file not found: {dataPath}", dataPath);
            data = JsonlPretrainSource.Open(dataPath, tokenizer!, maxSeqLen, log);
            dataDesc = $"jsonl {dataPath}";
        }
        using var ownedData = data as IDisposable; // the token file is memory-mapped
        if (tokenizer is not null && tokenizer.VocabSize > config.VocabSize)
            throw new UsageException($"the tokenizer has {tokenizer.VocabSize} ids but the model's --vocab-size is {config.VocabSize}");
        if (config.MaxSeqLen < data.SeqLen) config = config with { MaxSeqLen = data.SeqLen };

        // ---- model and trainer -----------------------------------------------------------------
        // CPU ranks sharing a machine split its cores instead of oversubscribing them.
        int threads = comm.LocalSize > 1 ? Math.Max(1, Environment.ProcessorCount / comm.LocalSize) : 0;
        // GPU ranks on one machine take one device each (local rank r -> CUDA device r).
        bool cuda = device == "cuda" || (device == "auto" && Minimind.Kernels.Ilgpu.IlgpuBackend.CudaAvailable());
        using var backend = comm.LocalSize > 1 && cuda ? Minimind.Kernels.Ilgpu.IlgpuBackend.CreateCuda(comm.LocalRank) : BackendFactory.Create(device, threads);
        log.WriteLine(BackendFactory.Describe(backend) + (comm.LocalSize > 1 && backend.Name == "cpu" ? $", {threads} thread(s) per rank for {comm.LocalSize} ranks on this machine" : ""));
        using var model = MiniMindModel.Create(config, backend, options.BatchSize, data.SeqLen);
        model.Precision = options.Dtype;
        model.InitRandom(checked((int)options.Seed));
        using var trainer = new Trainer(model, data, options, log, dataDesc, comm);
        log.WriteLine($"model: {config.Arch} dim {config.Dim}, {config.NLayers} layers, {config.NHeads}/{config.NKvHeads} heads, vocab {config.VocabSize}{(config.UseMoe ? $", MoE {config.NExperts}x top-{config.TopK}" : "")}: {model.Parameters.TotalElements:N0} parameters");
        log.WriteLine($"data: {dataDesc}: {data.Count:N0} samples of {data.SeqLen} tokens; {trainer.MicroBatchesPerEpoch} batches/epoch, {trainer.StepsPerEpoch} optimizer steps/epoch");

        bool resumed = false;
        if (resumeFrom is not null)
        {
            if (Directory.Exists(resumeFrom)) trainer.LoadResumeFolder(resumeFrom);
            else if (File.Exists(resumeFrom)) trainer.LoadMinimindResume(resumeFrom);
            else throw new FileNotFoundException($"--resume-from {resumeFrom}: no such folder or file", resumeFrom);
            resumed = true;
        }
        else if (resume)
        {
            resumed = trainer.TryResumeLatest();
            if (!resumed) log.WriteLine($"--resume: no complete checkpoint in {trainer.Paths.CheckpointRoot}; starting a fresh run");
        }
        if (!resumed)
        {
            var existing = Minimind.Checkpoint.Resume.ResumeStore.ListSteps(trainer.Paths.CheckpointRoot);
            if (existing.Count > 0 && !resume)
                throw new IOException($"{trainer.Paths.CheckpointRoot} already holds checkpoints of a run (up to step {existing[0].Step}). " +
                    "Continue it with --resume, or pick another --out-dir or --save-weight, or delete that folder to start over.");
            if (fromWeight is not null) LoadFromWeight(model, fromWeight, options, config, log);
        }
        else if (fromWeight is not null) log.WriteLine("note: --from-weight is ignored when resuming (the checkpoint holds the weights)");

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
        string again = ResumeCommandLine();
        if (outcome == TrainOutcome.Stopped)
        {
            log.WriteLine($"stopped at step {trainer.State.OptimizerStep}/{trainer.StopStep}; checkpoint in {trainer.Paths.CheckpointRoot}");
            log.WriteLine($"resume with: {again}");
            return 0;
        }
        log.WriteLine($"done: {trainer.State.OptimizerStep} steps, final loss {(trainer.State.Losses.Count > 0 ? trainer.State.Losses[^1] : float.NaN):F4}");
        log.WriteLine($"weights:    {trainer.Paths.WeightsPath}");
        log.WriteLine($"checkpoint: {trainer.Paths.CheckpointRoot}");
        if (options.Plot) log.WriteLine($"loss plot:  {trainer.Paths.PlotPath}");
        log.WriteLine($"metrics:    {trainer.Paths.MetricsPath}");
        // The .pth alone does not say which generation wrote it (2024 and minimind2 share keys): spell the architecture out.
        string tokHint = tokSpec.Length > 0 ? $" --tokenizer {tokSpec}" : "";
        log.WriteLine($"try it:     minimind generate --weights {trainer.Paths.WeightsPath} {ModelOptions.Describe(config)}{tokHint} --prompt \"...\"");
        log.WriteLine($"resume command (for a run that was interrupted; a finished one has nothing left): {again}");
        return 0;
    }

    private static void LoadFromWeight(MiniMindModel model, string fromWeight, TrainOptions o, ModelConfig c, TextWriter log)
    {
        string path = fromWeight.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || File.Exists(fromWeight) || Directory.Exists(fromWeight)
            ? fromWeight : Path.Combine(o.OutDir, RunPaths.RunNameOf(fromWeight, c) + ".pth");
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"--from-weight {fromWeight}: {path} not found", path);
        var report = model.LoadStateDict(StateDict.Read(path), strict: false);
        log.WriteLine($"initialised from {path}: {report}");
    }

    // The command line that continues this run: the same options with --resume.
    private static string ResumeCommandLine()
    {
        var a = Environment.GetCommandLineArgs().Skip(1).ToList();
        int i = a.IndexOf("train");
        var opts = i >= 0 ? a.Skip(i + 1).ToList() : a;
        var kept = new List<string>();
        for (int k = 0; k < opts.Count; k++)
        {
            if (opts[k] == "--resume") continue;
            if (opts[k] == "--resume-from") { k++; continue; }
            if (opts[k].StartsWith("--resume-from=", StringComparison.Ordinal)) continue;
            kept.Add(opts[k].Contains(' ') ? $"\"{opts[k]}\"" : opts[k]);
        }
        return "minimind train " + string.Join(' ', kept.Append("--resume")).Trim();
    }
}

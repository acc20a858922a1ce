using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
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

    /// <inheritdoc/>
    public string Help => """
        Usage: minimind train [--data FILE.jsonl|FILE.bin] [options]

        MiniMind's pretraining recipe (trainer/train_pretrain.py): seeded shuffle per epoch, AdamW
        (betas 0.9/0.999, eps 1e-8, weight decay 0.01), cosine schedule lr·(0.1 + 0.45·(1 + cos(π·step/total))),
        gradient accumulation and clip_grad_norm_. "Step" means an optimizer step everywhere.
        Without --data it trains a tiny model (dim 64, 2 layers, byte tokenizer) on the built-in corpus.

        Every --save-interval steps, at the end and on Ctrl+C/SIGTERM it writes
          <out-dir>/<save-weight>_<dim>[_moe].pth                     PyTorch weights (torch.load-able)
          <out-dir>/checkpoints/<save-weight>_<dim>[_moe]/step_NNNNNN/  full resume state (weights, AdamW,
                                                                     counters, data position, checksums)
        A resumed run continues bit for bit as if never interrupted (same device). Checkpoints are taken
        only at optimizer-step boundaries, so no partial accumulation window is ever lost or duplicated.

        Data and model:
          --data PATH              jsonl ({"text": ...} per line) or a token file from 'minimind tokenize'
                                   (default: the built-in corpus)
          --tokenizer SPEC         tokenizer.json, a folder holding one, or 'byte' (needed with a jsonl --data;
                                   default 'byte' for the built-in corpus)
          --max-seq-len N          tokens per row incl. bos/eos (default 512; built-in 128)
          --arch NAME              minimind-v1 | minimind2 | minimind2-hf | minimind3 (default minimind3 with
                                   --data; + the usual overrides --dim --n-layers --n-heads --n-kv-heads
                                   --vocab-size --hidden-dim --use-moe --n-experts --top-k ...)
          --from-weight NAME|PATH  start from <out-dir>/NAME_<dim>[_moe].pth or a .pth path (any generation's
                                   key names, prefixes stripped; lists what did not load)
        Recipe:
          --epochs N (1; built-in 3)  --batch-size N (32; built-in 16)  --learning-rate X (5e-4; built-in 2e-3)
          --accumulation-steps N (8; built-in 1)  --grad-clip X (1.0, 0 = off)  --max-steps N (total, across resumes)
          --seed N (42)   --device auto|cuda|cpu|ilgpu-cpu (auto)
        Output:
          --out-dir DIR (out)  --save-weight NAME (pretrain)  --save-interval N (1000; built-in 50)
          --log-interval N (100; built-in 10)  --keep-last K (3)  --save-dtype f32|f16|bf16 (f16, as MiniMind)
          --keep-every N (0)       pin every step folder whose step is a multiple of N: never pruned
          --export-minimind-resume also write checkpoints/<name>_resume.pth in MiniMind's resume layout
          --minimind-root DIR      write MiniMind's layout where its scripts look: DIR/checkpoints/<name>_resume.pth
                                   and <name>.pth (lm_checkpoint), DIR/out/<name>.pth (--from_weight)
          --no-space-check         skip the free-space check before each save (for filesystems that misreport it)
          --plot                   write <out-dir>/<name>_loss.png at every save
        Divergence guard:
          A step whose loss or gradient norm is not finite is skipped (never reaches the weights) and printed;
          no checkpoint is written while the last update was skipped, and a save holding non-finite weights or
          AdamW moments is refused.
          --max-bad-steps N (5)    stop after N skipped steps in a row
          --loss-spike X (3)       stop when a step's loss exceeds X times the median of the last 50 steps (0 = off)
          A stopped run exits with code 3 and keeps its newest checkpoint as the last good state.
        Resuming:
          --resume                 continue from the newest checkpoint that verifies (a damaged newest one is
                                   reported and skipped); starts fresh when there is none
          --resume-from PATH       a step_NNNNNN folder, or a MiniMind *_resume.pth written by PyTorch

        One run per folder: the checkpoint folder is locked (run.lock, released by the OS when the process dies);
        a second trainer on it fails at once naming the holder's PID and command line.
        A save that fails (disk full, I/O error) removes its temporary files, leaves the previous checkpoint and
        .pth as they were, and stops the run with exit code 1 and the path in the message.

        Ctrl+C (or SIGTERM) finishes the current step, writes a checkpoint and exits 0; a second Ctrl+C exits
        at once, leaving the last complete checkpoint untouched.

        Examples:
          minimind train
          minimind train --resume
          minimind train --data pretrain_hq.jsonl --tokenizer model/ --arch minimind2 --max-seq-len 340
        """;

    /// <summary>The built-in demo model: minimind-v1's layout at toy size for the byte tokenizer.</summary>
    public static ModelConfig TinyConfig(int vocab, int maxSeqLen) => ModelConfig.Preset("minimind-v1") with
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = vocab, MaxSeqLen = maxSeqLen,
    };

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var log = Console.Out;
        string? dataPath = args.String("data");
        bool builtin = dataPath is null;
        int maxSeqLen = args.Int("max-seq-len", builtin ? 128 : 512);
        string tokSpec = args.String("tokenizer", builtin ? "byte" : null)
            ?? (dataPath!.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? "" : throw new UsageException("--tokenizer is needed to read a jsonl --data file (a tokenizer.json, a folder holding one, or 'byte')"));
        var options = new TrainOptions
        {
            Epochs = args.Int("epochs", builtin ? 3 : 1),
            BatchSize = args.Int("batch-size", builtin ? 16 : 32),
            LearningRate = args.Double("learning-rate", builtin ? 2e-3 : 5e-4),
            AccumulationSteps = args.Int("accumulation-steps", builtin ? 1 : 8),
            GradClip = args.Double("grad-clip", 1.0),
            LogInterval = args.Int("log-interval", builtin ? 10 : 100),
            SaveInterval = args.Int("save-interval", builtin ? 50 : 1000),
            MaxSteps = args.Has("max-steps") ? args.Long("max-steps", 0) : null,
            OutDir = args.String("out-dir", "out")!,
            SaveWeight = args.String("save-weight", "pretrain")!,
            Seed = args.Long("seed", 42),
            KeepLast = args.Int("keep-last", 3),
            SaveDtype = TorchDTypes.ParseShort(args.Choice("save-dtype", "f16", "f32", "f16", "bf16")),
            ExportMinimindResume = args.Flag("export-minimind-resume"),
            Plot = args.Flag("plot"),
            KeepEvery = args.Int("keep-every", 0),
            MaxBadSteps = args.Int("max-bad-steps", DivergenceGuard.DefaultMaxBadSteps),
            LossSpike = args.Double("loss-spike", DivergenceGuard.DefaultSpikeFactor),
            MinimindRoot = args.String("minimind-root"),
            CheckFreeSpace = !args.Flag("no-space-check"),
            TokenizerSpec = tokSpec.Length == 0 ? null : tokSpec == "byte" ? tokSpec : Path.GetFullPath(tokSpec),
        };
        bool resume = args.Flag("resume");
        string? resumeFrom = args.String("resume-from");
        string? fromWeight = args.String("from-weight");
        string device = args.Choice("device", "auto", BackendFactory.Devices);
        // A --from-weight given as a file, or a MiniMind *_resume.pth to continue, also fixes the shapes (read from the file).
        string? fromWeightFile = resumeFrom is not null && File.Exists(resumeFrom) ? resumeFrom
            : fromWeight is not null && File.Exists(fromWeight) ? fromWeight : null;
        var config = ResolveConfig(args, builtin, maxSeqLen, fromWeightFile);
        args.EnsureAllUsed();
        try { options.Validate(); config.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (resume && resumeFrom is not null) throw new UsageException("give either --resume or --resume-from, not both");

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
            if (data.SeqLen + 1 != maxSeqLen && args.Has("max-seq-len"))
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
        using var backend = BackendFactory.Create(device);
        log.WriteLine(BackendFactory.Describe(backend));
        using var model = MiniMindModel.Create(config, backend, options.BatchSize, data.SeqLen);
        model.InitRandom(checked((int)options.Seed));
        using var trainer = new Trainer(model, data, options, log, dataDesc);
        // One run per checkpoint folder; the OS drops the lock when this process dies, so a killed run never blocks --resume.
        using var runLock = Minimind.Checkpoint.Resume.RunLock.Acquire(trainer.CheckpointRoot, CommandLine());
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
            if (!resumed) log.WriteLine($"--resume: no complete checkpoint in {trainer.CheckpointRoot}; starting a fresh run");
        }
        if (!resumed)
        {
            var existing = Minimind.Checkpoint.Resume.ResumeStore.ListSteps(trainer.CheckpointRoot);
            if (existing.Count > 0 && !resume)
                throw new IOException($"{trainer.CheckpointRoot} already holds checkpoints of a run (up to step {existing[0].Step}). " +
                    "Continue it with --resume, or pick another --out-dir or --save-weight, or delete that folder to start over.");
            if (fromWeight is not null) LoadFromWeight(model, fromWeight, options, config, log);
        }
        else if (fromWeight is not null) log.WriteLine("note: --from-weight is ignored when resuming (the checkpoint holds the weights)");

        if (trainer.IsDone)
        {
            log.WriteLine($"nothing to do: the run is complete at step {trainer.State.OptimizerStep}/{trainer.StopStep}. Weights: {trainer.WeightsPath}");
            return 0;
        }
        log.WriteLine($"training: {trainer.StopStep - trainer.State.OptimizerStep} optimizer steps (schedule total {trainer.State.TotalSteps}), batch {options.BatchSize} x {options.AccumulationSteps} accumulation, lr {options.LearningRate}");
        TrainOutcome outcome;
        using (var stop = new StopSignal(log)) outcome = trainer.Run(stop, resumed);
        string again = ResumeCommandLine();
        if (outcome == TrainOutcome.Diverged)
        {
            var last = Minimind.Checkpoint.Resume.ResumeStore.ListSteps(trainer.CheckpointRoot).FirstOrDefault();
            log.WriteLine($"error: training diverged at step {trainer.State.OptimizerStep}: {trainer.DivergedReason}.");
            log.WriteLine(last is null
                ? "No checkpoint had been written yet; nothing on disk was touched."
                : $"The newest checkpoint, {last.Path} (step {last.Step}), is the last good state and {trainer.WeightsPath} holds its weights; nothing after it was saved.");
            log.WriteLine("Lower --learning-rate or enable --grad-clip (a resumed run keeps the schedule it started with, so start a new --out-dir or --save-weight for a new learning rate),");
            log.WriteLine($"or continue from the last checkpoint with: {again}");
            return DivergedExitCode;
        }
        if (outcome == TrainOutcome.Stopped)
        {
            log.WriteLine($"stopped at step {trainer.State.OptimizerStep}/{trainer.StopStep}; checkpoint in {trainer.CheckpointRoot}");
            log.WriteLine($"resume with: {again}");
            return 0;
        }
        log.WriteLine($"done: {trainer.State.OptimizerStep} steps, final loss {(trainer.State.Losses.Count > 0 ? trainer.State.Losses[^1] : float.NaN):F4}");
        log.WriteLine($"weights:    {trainer.WeightsPath}");
        log.WriteLine($"checkpoint: {trainer.CheckpointRoot}");
        if (options.Plot) log.WriteLine($"loss plot:  {trainer.PlotPath}");
        log.WriteLine($"metrics:    {trainer.MetricsPath}");
        // The .pth records its architecture and tokenizer, so the weights are all generate needs.
        log.WriteLine($"try it:     minimind generate --weights {trainer.WeightsPath} --prompt \"...\"");
        log.WriteLine($"resume command (for a run that was interrupted; a finished one has nothing left): {again}");
        return 0;
    }

    // The built-in demo keeps its toy size unless --arch names a preset; the shape flags still apply.
    private static ModelConfig ResolveConfig(ArgParser args, bool builtin, int maxSeqLen, string? fromWeightFile)
    {
        if (!builtin || args.Has("arch") || fromWeightFile is not null) return ModelOptions.Parse(args, fromWeightFile);
        var c = TinyConfig(new ByteTokenizer().VocabSize, maxSeqLen);
        c = c with
        {
            Dim = args.IntOrNull("dim") ?? c.Dim, NLayers = args.IntOrNull("n-layers") ?? c.NLayers,
            NHeads = args.IntOrNull("n-heads") ?? c.NHeads, NKvHeads = args.IntOrNull("n-kv-heads") ?? c.NKvHeads,
            HiddenDim = args.IntOrNull("hidden-dim") ?? c.HiddenDim, NExperts = args.IntOrNull("n-experts") ?? c.NExperts,
            TopK = args.IntOrNull("top-k") ?? c.TopK,
        };
        if (args.Has("use-moe")) c = c with { UseMoe = args.Flag("use-moe") };
        if (args.Has("tie-embeddings")) c = c with { TiedEmbeddings = args.Flag("tie-embeddings") };
        return c;
    }

    private static void LoadFromWeight(MiniMindModel model, string fromWeight, TrainOptions o, ModelConfig c, TextWriter log)
    {
        string path = fromWeight.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || File.Exists(fromWeight)
            ? fromWeight : Path.Combine(o.OutDir, Trainer.RunNameOf(fromWeight, c) + ".pth");
        if (!File.Exists(path)) throw new FileNotFoundException($"--from-weight {fromWeight}: {path} not found", path);
        var sd = StateDict.Read(path);
        var report = model.LoadStateDict(sd, strict: false);
        log.WriteLine($"initialised from {path}: {report}");
        if (CheckpointShapes.TiedCopiesNote(c, sd) is { } note) log.WriteLine("note: " + note);
    }

    /// <summary>Exit code of a run the divergence guard stopped (1 = an error such as a full disk, 2 = bad usage).</summary>
    public const int DivergedExitCode = 3;

    private static string CommandLine() => string.Join(' ', Environment.GetCommandLineArgs().Select(a => a.Contains(' ') ? $"\"{a}\"" : a));

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

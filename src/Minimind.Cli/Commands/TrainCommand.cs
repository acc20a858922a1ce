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
          --export-minimind-resume also write checkpoints/<name>_resume.pth in MiniMind's resume layout
          --plot                   write <out-dir>/<name>_loss.png at every save
        Resuming:
          --resume                 continue from the newest checkpoint that verifies (a damaged newest one is
                                   reported and skipped); starts fresh when there is none
          --resume-from PATH       a step_NNNNNN folder, or a MiniMind *_resume.pth written by PyTorch

        Ctrl+C (or SIGTERM) finishes the current step, writes a checkpoint and exits 0; a second Ctrl+C exits
        at once, leaving the last complete checkpoint untouched.

        Several processes (data parallel, Open MPI: apt-get install openmpi-bin libopenmpi-dev):
          mpirun -np W minimind train ...   each rank computes --accumulation-steps micro-batches per step, so
                                   a step takes G = W x accumulation micro-batches; which samples form each
                                   one depends only on (seed, epoch, step, index), never on W. Gradients are
                                   summed in one fixed pairwise tree: W = 1, 2, 4, ... with the same G give
                                   bit-identical weights (other W: deterministic, said at start-up).
                                   Rank 0 prints (world size, per-rank tok/s, communication share), writes
                                   metrics and checkpoints; a step folder is committed only after every rank
                                   reached it. --resume works at any W dividing G (accumulation becomes G/W).
                                   CPU ranks on one machine split its cores. Ranks started with different
                                   arguments or data are refused before the first step, naming the field.
          --dist-timeout S         seconds a rank waits for another before failing, naming it (default 300)

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
        };
        bool resume = args.Flag("resume");
        string? resumeFrom = args.String("resume-from");
        string? fromWeight = args.String("from-weight");
        string device = args.Choice("device", "auto", BackendFactory.Devices);
        // A --from-weight given as a file also fixes the shapes (read from the checkpoint).
        string? fromWeightFile = fromWeight is not null && File.Exists(fromWeight) ? fromWeight : null;
        var config = ResolveConfig(args, builtin, maxSeqLen, fromWeightFile);
        double distTimeout = args.Double("dist-timeout", 300);
        args.EnsureAllUsed();
        if (!(distTimeout > 0)) throw new UsageException("--dist-timeout must be a positive number of seconds");
        using var comm = MpiCommunicator.FromEnvironment(TimeSpan.FromSeconds(distTimeout));
        try { return Train(args, comm, log, builtin, dataPath, maxSeqLen, tokSpec, options, resume, resumeFrom, fromWeight, device, config); }
        catch (MpiException e) when (comm.Size > 1)
        {
            // One rank's failure ends every rank (otherwise the others would wait out their own timeouts).
            Console.Error.WriteLine($"minimind train: error: {e.Message}");
            comm.Abort(1);
            return 1;
        }
    }

    private int Train(ArgParser args, ICommunicator comm, TextWriter log, bool builtin, string? dataPath, int maxSeqLen, string tokSpec,
        TrainOptions options, bool resume, string? resumeFrom, string? fromWeight, string device, ModelConfig config)
    {
        // Rank 0 speaks for the job; the other ranks' errors still reach stderr.
        if (comm.Rank != 0) log = TextWriter.Null;
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
        // CPU ranks sharing a machine split its cores instead of oversubscribing them.
        int threads = comm.LocalSize > 1 ? Math.Max(1, Environment.ProcessorCount / comm.LocalSize) : 0;
        using var backend = BackendFactory.Create(device, threads);
        log.WriteLine(BackendFactory.Describe(backend) + (comm.LocalSize > 1 && backend.Name == "cpu" ? $", {threads} thread(s) per rank for {comm.LocalSize} ranks on this machine" : ""));
        using var model = MiniMindModel.Create(config, backend, options.BatchSize, data.SeqLen);
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
        return c;
    }

    private static void LoadFromWeight(MiniMindModel model, string fromWeight, TrainOptions o, ModelConfig c, TextWriter log)
    {
        string path = fromWeight.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || File.Exists(fromWeight)
            ? fromWeight : Path.Combine(o.OutDir, RunPaths.RunNameOf(fromWeight, c) + ".pth");
        if (!File.Exists(path)) throw new FileNotFoundException($"--from-weight {fromWeight}: {path} not found", path);
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

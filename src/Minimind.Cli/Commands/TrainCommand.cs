using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Lora;
using Minimind.Model.Tokenizer;
using Minimind.Model.Training;
using Minimind.Model.Training.Stages;

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
        Usage: minimind train [--stage pretrain|sft|lora] [--data FILE.jsonl|FILE.bin] [options]

        One training loop for every MiniMind stage (--stage, default pretrain; each stage's defaults are
        those of MiniMind's script for it, listed below; 'minimind train --stage NAME --help' shows one).
        The recipe (trainer/train_pretrain.py and the others): seeded shuffle per epoch, AdamW
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
          --stage NAME             pretrain | sft | lora (default pretrain): the objective, its defaults and file names
          --max-seq-len N          tokens per row incl. bos/eos (stage default; built-in 128)
          --arch NAME              minimind-v1 | minimind2 | minimind2-hf | minimind3 (default minimind3 with
                                   --data; + the usual overrides --dim --n-layers --n-heads --n-kv-heads
                                   --vocab-size --hidden-dim --use-moe --n-experts --top-k ...)
          --from-weight NAME|PATH  start from <out-dir>/NAME_<dim>[_moe].pth or a .pth path (any generation's
                                   key names, prefixes stripped; lists what did not load); 'none' = random
                                   weights (stage default: none for pretrain, pretrain for sft, ...)
        Recipe:
          --epochs N  --batch-size N  --learning-rate X  --accumulation-steps N (stage defaults below; built-in
          demo: accumulation 1)  --grad-clip X (1.0, 0 = off)  --max-steps N (total, across resumes)
          --seed N (42)   --device auto|cuda|cpu|ilgpu-cpu (auto)
        Output:
          --out-dir DIR (out)  --save-weight NAME (stage default)  --save-interval N (stage default)
          --log-interval N (stage default; built-in 10)  --keep-last K (3)  --save-dtype f32|f16|bf16 (f16, as MiniMind)
          --export-minimind-resume also write checkpoints/<name>_resume.pth in MiniMind's resume layout
          --plot                   write <out-dir>/<name>_loss.png at every save
        Resuming:
          --resume                 continue from the newest checkpoint that verifies (a damaged newest one is
                                   reported and skipped); starts fresh when there is none
          --resume-from PATH       a step_NNNNNN folder, or a MiniMind *_resume.pth written by PyTorch

        Ctrl+C (or SIGTERM) finishes the current step, writes a checkpoint and exits 0; a second Ctrl+C exits
        at once, leaving the last complete checkpoint untouched.

        Examples:
          minimind train
          minimind train --resume
          minimind train --data pretrain_hq.jsonl --tokenizer model/ --arch minimind2 --max-seq-len 340
          minimind train --stage sft                      # the built-in demo's SFT, from out/pretrain_64.pth
        """;

    /// <summary>The built-in demo model: minimind-v1's layout at toy size for the byte tokenizer.</summary>
    public static ModelConfig TinyConfig(int vocab, int maxSeqLen) => ModelConfig.Preset("minimind-v1") with
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = vocab, MaxSeqLen = maxSeqLen,
    };

    /// <inheritdoc/>
    public string HelpFor(ArgParser args)
    {
        if (!args.Has("stage")) return Help + "\n" + string.Join("\n", TrainStages.All.Select(TrainStages.Describe));
        return Help + "\n" + TrainStages.Describe(TrainStages.Get(args.String("stage")!));
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var log = Console.Out;
        var recipe = TrainStages.Get(args.String("stage", "pretrain")!);
        string? dataPath = args.String("data");
        bool builtin = dataPath is null;
        int maxSeqLen = args.Int("max-seq-len", builtin ? 128 : recipe.MaxSeqLen);
        string tokSpec = args.String("tokenizer", builtin ? "byte" : null)
            ?? (dataPath!.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? "" : throw new UsageException("--tokenizer is needed to read a jsonl --data file (a tokenizer.json, a folder holding one, or 'byte')"));
        var options = new TrainOptions
        {
            Epochs = args.Int("epochs", builtin ? recipe.DemoEpochs : recipe.Epochs),
            BatchSize = args.Int("batch-size", builtin ? recipe.DemoBatchSize : recipe.BatchSize),
            LearningRate = args.Double("learning-rate", builtin ? recipe.DemoLearningRate : recipe.LearningRate),
            AccumulationSteps = args.Int("accumulation-steps", builtin ? 1 : recipe.AccumulationSteps),
            GradClip = args.Double("grad-clip", 1.0),
            LogInterval = args.Int("log-interval", builtin ? 10 : recipe.LogInterval),
            SaveInterval = args.Int("save-interval", builtin ? recipe.DemoSaveInterval : recipe.SaveInterval),
            MaxSteps = args.Has("max-steps") ? args.Long("max-steps", 0) : null,
            OutDir = args.String("out-dir", "out")!,
            SaveWeight = StageOptions.SaveWeight(args, recipe),
            Seed = args.Long("seed", 42),
            KeepLast = args.Int("keep-last", 3),
            SaveDtype = TorchDTypes.ParseShort(args.Choice("save-dtype", "f16", "f32", "f16", "bf16")),
            ExportMinimindResume = args.Flag("export-minimind-resume"),
            Plot = args.Flag("plot"),
        };
        var stageOptions = StageOptions.Parse(args, recipe);
        bool resume = args.Flag("resume");
        string? resumeFrom = args.String("resume-from");
        string? fromWeight = args.String("from-weight", recipe.FromWeight);
        if (fromWeight == "none") fromWeight = null;
        string device = args.Choice("device", "auto", BackendFactory.Devices);
        // A --from-weight given as a file also fixes the shapes (read from the checkpoint).
        string? fromWeightFile = fromWeight is not null && File.Exists(fromWeight) ? fromWeight : null;
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
            if (recipe.Name != "pretrain")
                log.WriteLine($"note: --stage {recipe.Name} without --data trains on the built-in pretraining corpus (every token has a target)");
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
        using var lora = recipe.Name == "lora" ? new LoraAdapters(model, stageOptions.LoraRank) : null;
        lora?.InitRandom(checked((int)options.Seed));
        ITrainingStage stage = lora is not null ? new LoraStage(model, lora, data) : new LanguageModelStage(recipe.Name, model, data);
        using var trainer = new Trainer(stage, options, log, dataDesc);
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
            if (fromWeight is not null) LoadFromWeight(model, fromWeight, options, config, log, args.Has("from-weight"));
        }
        else if (lora is not null && fromWeight is not null)
            LoadFromWeight(model, fromWeight, options, config, log, args.Has("from-weight")); // the frozen base is not in the checkpoint
        else if (fromWeight is not null) log.WriteLine("note: --from-weight is ignored when resuming (the checkpoint holds the weights)");
        if (lora is not null)
        {
            if (fromWeight is null) log.WriteLine("warning: --stage lora with --from-weight none adapts a randomly initialised base model");
            log.WriteLine($"LoRA: rank {lora.Rank} on {lora.AdaptedKeys.Count()} square linears ({string.Join(", ", lora.AdaptedKeys.Take(4))}{(lora.AdaptedKeys.Count() > 4 ? ", ..." : "")}): {lora.Table.TotalElements:N0} trainable parameters");
        }

        if (trainer.IsDone)
        {
            log.WriteLine($"nothing to do: the run is complete at step {trainer.State.OptimizerStep}/{trainer.StopStep}. Weights: {trainer.Paths.WeightsPath}");
            return 0;
        }
        log.WriteLine($"training: {trainer.StopStep - trainer.State.OptimizerStep} optimizer steps (schedule total {trainer.State.TotalSteps}), batch {options.BatchSize} x {options.AccumulationSteps} accumulation, lr {options.LearningRate}");
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
        if (lora is not null)
        {
            string merged = Path.Combine(options.OutDir, RunPaths.RunNameOf(options.SaveWeight + "_merged", config) + ".pth");
            log.WriteLine($"merge it:   minimind convert {(fromWeight is null ? "BASE.pth" : FromWeightPath(fromWeight, options, config))} {merged} --merge-lora {trainer.Paths.WeightsPath}");
            log.WriteLine($"try it:     minimind generate --weights {merged} {ModelOptions.Describe(config)}{tokHint} --prompt \"...\"");
        }
        else log.WriteLine($"try it:     minimind generate --weights {trainer.Paths.WeightsPath} {ModelOptions.Describe(config)}{tokHint} --prompt \"...\"");
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

    private static void LoadFromWeight(MiniMindModel model, string fromWeight, TrainOptions o, ModelConfig c, TextWriter log, bool given)
    {
        string path = FromWeightPath(fromWeight, o, c);
        if (!File.Exists(path))
            throw new FileNotFoundException($"--from-weight {fromWeight}{(given ? "" : " (this stage's default)")}: {path} not found. " +
                $"Train that stage first (minimind train --stage ... --out-dir {o.OutDir}), give a .pth path, or --from-weight none to start from random weights", path);
        var report = model.LoadStateDict(StateDict.Read(path), strict: false);
        log.WriteLine($"initialised from {path}: {report}");
    }

    // --from-weight NAME means <out-dir>/NAME_<dim>[_moe].pth, as MiniMind's init_model; a path is taken as is.
    private static string FromWeightPath(string fromWeight, TrainOptions o, ModelConfig c) =>
        fromWeight.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || File.Exists(fromWeight)
            ? fromWeight : Path.Combine(o.OutDir, RunPaths.RunNameOf(fromWeight, c) + ".pth");

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

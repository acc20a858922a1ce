using System.Diagnostics;
using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Cli.Stages;
using Minimind.Plots;
using Minimind.Training;
using Minimind.Training.Checkpointing;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind bench train</c>: times full optimizer steps (forward, backward, clip, AdamW) on random
/// tokens after one warm-up step; with --checkpoint also the resume-state write and the resume.
/// The last line is always <c>tokens/s: N</c> for scripts.
/// </summary>
public sealed class BenchCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "bench";

    /// <inheritdoc/>
    public string Summary => "Measure training throughput (tokens/s), checkpoint write time, resume latency, eval items/s, serving and rollout tokens/s, GRPO peak memory, memory bandwidth";

    /// <summary><c>--batch-size</c>.</summary>
    public static readonly CliOption<int> BatchSize = Opt.Int("batch-size", "N", 4, "rows per step").AtLeast(1);
    /// <summary><c>--max-seq-len</c>: tokens per row (the model's context is at least 512).</summary>
    public static readonly CliOption<int> MaxSeqLen = Opt.Int("max-seq-len", "N", 256, "tokens per row incl. bos/eos (rows of N-1 positions, as training sees)").AtLeast(3);
    /// <summary><c>--steps</c>.</summary>
    public static readonly CliOption<int> Steps = Opt.Int("steps", "N", 10, "timed optimizer steps after one warm-up step").AtLeast(1);
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("CPU backend worker threads; under mpirun the default splits the cores between the ranks on one machine");
    /// <summary><c>--accumulation-steps</c>: micro-batches per rank per step.</summary>
    public static readonly CliOption<int> Accumulation = Opt.Int("accumulation-steps", "N", 1, "micro-batches per rank per step (a step takes world size x N)").AtLeast(1);
    /// <summary><c>--checkpoint</c>.</summary>
    public static readonly CliOption<bool> Checkpoint = Opt.Flag("checkpoint",
        "also time one full save (PyTorch .pth + resume-state folder with checksums), the resume from it (verify + load), and the save overhead per 1000 steps");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("auto");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    // The stages a bench can time on random rows (not those that need pairs or a teacher).
    private static readonly StageRecipe[] Stages = TrainStages.All.Where(r => r.BenchNote is not null).ToArray();

    /// <summary><c>--stage</c>: which objective's step is timed.</summary>
    public static readonly CliOption<string> Stage = Opt.Choice("stage", TrainStages.Pretrain.Name,
        string.Join("; ", Stages.Select(r => $"{r.Name}: {r.BenchNote}")), Stages.Select(r => r.Name).ToArray()).Sample("lora");
    /// <summary><c>--assistant-fraction</c>.</summary>
    public static readonly CliOption<double> AssistantFraction = Opt.Double("assistant-fraction", "F", 0.5,
        "sft/lora: share of each row's positions with a target (the assistant reply); the rest is -100").Positive().Check(v => v <= 1, "must be at most 1").Sample("0.25");

    /// <summary><c>--plot</c>: the figures as a bar chart.</summary>
    public static readonly CliOption<string?> Plot = BenchCharts.PlotOption();
    /// <summary><c>--baseline</c>: saved outputs drawn beside ours.</summary>
    public static readonly CliOption<string?> Baseline = BenchCharts.BaselineOption("tools/training/bench_torch.py or another bench train");

    /// <summary><c>minimind bench train</c>.</summary>
    public static readonly OptionTable TrainTable = new("bench train",
        new[] { "bench train [--arch NAME ...] [--batch-size 4] [--max-seq-len 256] [--steps 10] [--device D] [--threads N] [--checkpoint] [--plot F.svg [--baseline LABEL=LOG,...]]" },
        """
        Builds the model (the architecture options of 'minimind train'; default minimind-v1), runs one
        warm-up optimizer step, then --steps timed steps on seeded random tokens: forward + backward +
        clip_grad_norm_ + AdamW, --accumulation-steps micro-batches each (summed pairwise). Prints seconds per
        step, the model FLOPs achieved (6 per trained matmul weight per token + 12*layers*dim*T attention, PaLM's
        estimate; on --device cpu also, per step, as a share of the SGEMM peak measured right after that step,
        outside the timing, so a machine whose speed drifts is compared with itself) and, as its LAST line,
        "tokens/s: <number>". On a backend that launches kernels (cuda, ilgpu-cpu)
        also "kernel launches per step: N", counted exactly over the whole step.
        Under 'mpirun -np W' a step takes W x accumulation micro-batches (each rank its block, combined in the
        pairwise tree); rank 0 prints tokens/s over all ranks, per rank, and the share of step time spent
        communicating (gradient all-reduce, loss gather) with the bytes sent per step.
        --plot F.png|F.svg draws the printed figures (tokens/s; step, checkpoint and resume seconds) as bars,
        beside the same figures of each --baseline: a saved output of what this run was measured beside
        (tools/training/bench_torch.py's 'tokens/s:' and 's/step' lines, or another bench train's output).
        """,
        new[]
        {
            new OptionGroup("Options", BatchSize, MaxSeqLen, Steps, Accumulation, Device, Dtype, Threads, Checkpoint, Stage, AssistantFraction, Plot, Baseline),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[]
        {
            "bench train --arch minimind-v1 --batch-size 4 --max-seq-len 256 --steps 5 --device cpu",
            "bench train --device cpu --accumulation-steps 2 --threads 2   (vs: mpirun -np 2 minimind bench train --device cpu)",
            "bench train --stage sft --assistant-fraction 0.4 --steps 5     # also prints assistant-tokens/s",
            "bench train --stage lora --steps 5                             # compare its step time with --stage sft",
            "bench train --steps 5 --plot train.svg --baseline 'torch 2.6=torch.log'   # torch.log: bench_torch.py's output",
        });

    /// <summary>Everything <c>minimind bench</c> accepts.</summary>
    public static readonly OptionTable Table = new("bench", new[] { "bench train [options]", "bench eval [options]", "bench serve [options]", "bench rollout [options]", "bench grpo-memory [options]", "bench memory [options]" },
        "Measures training throughput (tokens/s), checkpoint write time and resume latency.", Array.Empty<OptionGroup>(),
        new[] { "bench train --arch minimind-v1 --batch-size 4 --max-seq-len 256 --steps 5 --device cpu" })
    {
        Subcommands = new[]
        {
            ("train", "time full optimizer steps; tokens/s on the last line", TrainTable),
            ("eval", "multiple-choice scoring items/s, shared prompt vs naive; speedup on the last line", EvalBench.Table),
            ("serve", "the HTTP server under 1, 4, 16 concurrent streaming clients: tokens/s and time to first token", ServeBench.Table),
            ("rollout", "an RL rollout batch (2 prompts x 6 samples, 256 new tokens) batched vs one at a time: tokens/s; speedup on the last line", RolloutBench.Table),
            ("grpo-memory", "peak memory of a GRPO step vs the sum of its parts (weights, gradients, AdamW, activations, logits, KV cache); peak/sum on the last line", GrpoMemoryBench.Table),
            ("memory", "STREAM-like memory bandwidth (read, copy, triad GB/s over arrays far larger than the cache) and the decode ceiling it sets", MemoryBench.Table),
        },
    };

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind bench train</c> command line asks for.</summary>
    public sealed record Settings(int Batch, int Steps, int MaxSeqLen, int Threads, bool Checkpoint, string Device, ModelConfig Config, StageRecipe Stage,
        double AssistantFraction, int Accumulation = 1, Precision Dtype = Precision.Fp32, string? Plot = null, string? Baseline = null);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark ('train')");
        if (what != "train") throw new UsageException($"unknown benchmark '{what}'; available: train, eval, serve, rollout, grpo-memory, memory");
        int maxSeqLen = args.Get(MaxSeqLen);
        var v1 = ModelConfig.Preset("minimind-v1") with { MaxSeqLen = Math.Max(512, maxSeqLen) };
        var config = ModelOptions.Resolve(args, null, v1);
        config = config with { MaxSeqLen = Math.Max(config.MaxSeqLen, maxSeqLen) };
        var s = new Settings(args.Get(BatchSize), args.Get(Steps), maxSeqLen, args.Get(Threads), args.Get(Checkpoint), args.Get(Device), config,
            TrainStages.Get(args.Get(Stage)), args.Get(AssistantFraction), args.Get(Accumulation),
            PrecisionRounding.Parse(args.Get(Dtype)), args.Get(Plot), args.Get(Baseline));
        BenchCharts.CheckPair(s.Plot, s.Baseline);
        if (!s.Stage.TrainsOnReplies && args.Has(AssistantFraction))
            throw new UsageException($"--assistant-fraction applies to --stage {string.Join(" and ", Stages.Where(r => r.TrainsOnReplies).Select(r => r.Name))}");
        args.EnsureAllUsed();
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        if (ReferenceEquals(args.Table, EvalBench.Table)) return EvalBench.Run(args);
        if (ReferenceEquals(args.Table, ServeBench.Table)) return ServeBench.Run(args);
        if (ReferenceEquals(args.Table, RolloutBench.Table)) return RolloutBench.Run(args);
        if (ReferenceEquals(args.Table, GrpoMemoryBench.Table)) return GrpoMemoryBench.Run(args);
        if (ReferenceEquals(args.Table, MemoryBench.Table)) return MemoryBench.Run(args);
        var (batch, steps, maxSeqLen, threads, checkpoint, device, config, recipe, assistantFraction, accumulation, dtype, plot, baseline) = Bind(args);
        var baselines = BenchCharts.ReadBaselines(baseline); // a missing file fails before the benchmark runs

        using var comm = MpiCommunicator.FromEnvironment(TimeSpan.FromSeconds(300));
        var log = comm.Rank == 0 ? Console.Out : TextWriter.Null;
        var printed = new StringWriter(CultureInfo.InvariantCulture);
        if (plot is not null) log = new TeeWriter(log, printed); // the chart is drawn from the printed figures
        if (threads == 0 && comm.LocalSize > 1) threads = Math.Max(1, Environment.ProcessorCount / comm.LocalSize);
        int g = comm.Size * accumulation;
        // Random full-length rows: bos + (max-seq-len - 2) random ids + eos, so no position is padding.
        var rng = new Random(1234);
        int rows = batch * g * (steps + 2);
        int textLen = maxSeqLen - 2;
        var ids = new int[rows * textLen];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(3, config.VocabSize);
        var offsets = new long[rows + 1];
        for (int r = 0; r <= rows; r++) offsets[r] = (long)r * textLen;
        IPretrainSource data = new InMemoryPretrainSource(ids, offsets, maxSeqLen, 1, 2, 0);
        if (recipe.TrainsOnReplies) data = new PromptMaskedSource(data, assistantFraction);

        using var backend = BackendFactory.Create(device, threads, comm.LocalRank);
        log.WriteLine(BackendFactory.Describe(backend));
        using var model = MiniMindModel.Create(config, backend, batch, data.SeqLen);
        model.Precision = dtype;
        log.WriteLine($"dtype: {dtype.Name()}");
        model.InitRandom(42);
        string outDir = Path.Combine(Path.GetTempPath(), "minimind-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var opts = new TrainOptions { BatchSize = batch, AccumulationSteps = accumulation, OutDir = outDir, MaxSteps = steps + 1, KeepLast = 1, Dtype = dtype, Seed = 42 };
        using var setup = recipe.CreateStage(new StageContext(StageSettings.Defaults, model, data, opts, backend, TextWriter.Null, null));
        var stage = setup.Stage;
        try
        {
            using var trainer = new Trainer(stage, opts, TextWriter.Null, "random tokens", comm);
            log.WriteLine($"model: {config.Arch} dim {config.Dim}, {config.NLayers} layers, {model.Parameters.TotalElements:N0} parameters; batch {batch} x {data.SeqLen} tokens, {g} micro-batch(es) per step; stage {recipe.Name}, {stage.Parameters.TotalElements:N0} trained parameters");
            if (comm.Size > 1) log.WriteLine($"{trainer.Parallel.Describe()}; {threads} CPU thread(s) per rank");
            var sw = Stopwatch.StartNew();
            trainer.TrainStepAt(0, 0, opts.LearningRate);
            backend.Synchronize();
            log.WriteLine($"warm-up step: {sw.Elapsed.TotalSeconds:F3} s");
            var times = new List<double>();
            long labelled = 0;
            var total = Stopwatch.StartNew();
            var comm0 = trainer.Parallel.CommTime;
            long bytes0 = trainer.Parallel.BytesSent;
            var counter = backend as ILaunchCounter;
            var launches = new List<long>();
            long tokensPerStep = (long)g * batch * data.SeqLen;
            double perToken = ModelFlops.TrainingPerToken(config, data.SeqLen, frozenBase: recipe is LoraRecipe, recipe is LoraRecipe ? stage.Parameters.TotalElements : 0);
            // On the CPU in one process, the SGEMM peak is measured after every step, outside the timing: a machine whose
            // speed drifts (a shared VM moved 2x within minutes) then gives each step a yardstick from the same moment.
            bool peaks = backend.Name == "cpu" && comm.Size == 1;
            var mfu = new List<double>();
            for (int s = 1; s <= steps; s++)
            {
                sw.Restart();
                for (int i = 0; i < g; i++)
                    foreach (var y in trainer.MakeBatch(0, (long)s * g + i).Targets) if (y != Batch.IgnoreIndex) labelled++;
                long before = counter?.KernelLaunches ?? 0;
                var (loss, _, _) = trainer.TrainStepAt(0, (long)s * g, opts.LearningRate);
                backend.Synchronize();
                times.Add(sw.Elapsed.TotalSeconds);
                if (counter is not null) launches.Add(counter.KernelLaunches - before);
                string peak = "";
                if (peaks)
                {
                    total.Stop();
                    double achieved = perToken * tokensPerStep / times[^1] / 1e9, sgemm = SgemmPeak.Measure(backend);
                    mfu.Add(achieved / sgemm);
                    peak = string.Create(CultureInfo.InvariantCulture, $"; {achieved:F1} GFLOP/s, SGEMM peak after it {sgemm:F1} GFLOP/s: {100 * mfu[^1]:F0}%");
                    total.Start();
                }
                log.WriteLine($"step {s}/{steps}: {times[^1]:F3} s, loss {loss:F4}{peak}");
            }
            double secs = total.Elapsed.TotalSeconds;
            double stepS = secs / steps;
            times.Sort();
            log.WriteLine($"step time: mean {stepS:F3} s, median {times[times.Count / 2]:F3} s, min {times[0]:F3} s");
            log.WriteLine(FlopsLine(config, perToken, recipe is LoraRecipe, tokensPerStep / stepS, mfu));
            if (launches.Count > 0) log.WriteLine(LaunchesLine(launches));
            if (comm.Size > 1)
            {
                double commS = (trainer.Parallel.CommTime - comm0).TotalSeconds;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"world size {comm.Size}: communication {100 * commS / secs:F1}% of step time (rank 0: {commS / steps * 1000:F1} ms/step, {(trainer.Parallel.BytesSent - bytes0) / steps / 1e6:F2} MB sent/step); {(double)steps * g * batch * data.SeqLen / secs / comm.Size:F1} tokens/s per rank"));
            }
            if (checkpoint && comm.Size > 1) log.WriteLine("--checkpoint is measured in a single process; skipped under mpirun");
            if (checkpoint && comm.Size == 1)
            {
                sw.Restart();
                var dir = trainer.Checkpointer.Save();
                double saveS = sw.Elapsed.TotalSeconds;
                long bytes = Directory.EnumerateFiles(dir).Sum(f => new FileInfo(f).Length) + new FileInfo(trainer.Paths.WeightsPath).Length;
                using var model2 = MiniMindModel.Create(config, backend, batch, data.SeqLen);
                model2.Precision = dtype;
                using var setup2 = recipe.CreateStage(new StageContext(StageSettings.Defaults, model2, data, opts, backend, TextWriter.Null, null));
                using var trainer2 = new Trainer(setup2.Stage, opts, TextWriter.Null, "random tokens");
                sw.Restart();
                ResumeLoader.LoadFolder(trainer2, dir);
                backend.Synchronize();
                double loadS = sw.Elapsed.TotalSeconds;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"checkpoint write: {saveS:F3} s ({bytes / 1e6:F1} MB: .pth + resume state, fsynced, SHA-256 of every file)"));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"checkpoint overhead: {100 * saveS / (1000 * stepS):F3}% of a 1000-step save interval ({100 * saveS / (100 * stepS):F2}% at 100)"));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resume latency (verify checksums + load): {loadS:F3} s"));
            }
            if (recipe.TrainsOnReplies)
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"assistant-tokens/s: {labelled / secs:F1} (positions with a target; tokens/s below counts every position)"));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens/s: {(double)steps * g * batch * data.SeqLen / secs:F1}"));
            if (plot is not null && comm.Rank == 0)
            {
                string title = $"bench train: {config.Arch} dim {config.Dim}, {config.NLayers} layers, batch {batch} x {data.SeqLen}, stage {recipe.Name}";
                BarChart.Save(BenchCharts.TrainChart(title, $"minimind ({backend.Name}, {dtype.Name()}{(comm.Size > 1 ? $", W={comm.Size}" : "")})", printed.ToString(), baselines), plot);
                Console.Error.WriteLine($"chart: {plot}");
            }
            return 0;
        }
        finally
        {
            try { if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// "model FLOPs: ..." — achieved GFLOP/s (<see cref="ModelFlops.TrainingPerToken"/> × tokens/s) and, where the SGEMM peak
    /// was measured after each step (<see cref="SgemmPeak"/>; CPU, single process), the median over the steps of each
    /// step's achieved GFLOP/s over the peak measured right after it.
    /// </summary>
    internal static string FlopsLine(ModelConfig config, double perToken, bool frozenBase, double tokensPerSecond, IReadOnlyList<double> mfu)
    {
        double achieved = perToken * tokensPerSecond / 1e9;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"model FLOPs: {perToken / 1e6:F1} MFLOP/token ({(frozenBase ? "4" : "6")}·{ModelFlops.MatmulWeightsPerToken(config):N0} matmul weights + 12·layers·dim·T attention), achieved {achieved:F1} GFLOP/s");
        if (mfu.Count == 0) return line;
        var sorted = mfu.Order().ToArray();
        double median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return line + string.Create(CultureInfo.InvariantCulture,
            $"; per step, of the SGEMM peak (2048×2048×1024, best of 3) measured after it: median {100 * median:F0}% ({100 * sorted[0]:F0}–{100 * sorted[^1]:F0}%)");
    }

    /// <summary>"kernel launches per step: N (...)" from the per-step counts (MoE routing varies them: then "min..max, mean M").</summary>
    internal static string LaunchesLine(IReadOnlyList<long> perStep)
    {
        long min = perStep.Min(), max = perStep.Max();
        string n = min == max ? $"{min}" : string.Create(CultureInfo.InvariantCulture, $"{min}..{max}, mean {perStep.Average():F1}");
        return $"kernel launches per step: {n} (forward + backward + optimizer, every kernel the backend queued)";
    }
}

/// <summary>Bench rows as SFT sees them: targets only on the last <c>fraction</c> of each row (the assistant reply), −100 before.</summary>
internal sealed class PromptMaskedSource(IPretrainSource inner, double fraction) : IPretrainSource
{
    /// <inheritdoc/>
    public long Count => inner.Count;
    /// <inheritdoc/>
    public int SeqLen => inner.SeqLen;

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        inner.Fill(index, inputs, targets);
        targets[..(int)Math.Round(SeqLen * (1 - fraction))].Fill(Batch.IgnoreIndex);
    }
}

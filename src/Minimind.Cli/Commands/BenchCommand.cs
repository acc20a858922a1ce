using System.Diagnostics;
using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Training;

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
    public string Summary => "Measure training throughput (tokens/s), checkpoint write time and resume latency";

    /// <summary><c>--batch-size</c>.</summary>
    public static readonly CliOption<int> BatchSize = Opt.Int("batch-size", "N", 4, "rows per step").AtLeast(1);
    /// <summary><c>--max-seq-len</c>: tokens per row (the model's context is at least 512).</summary>
    public static readonly CliOption<int> MaxSeqLen = Opt.Int("max-seq-len", "N", 256, "tokens per row incl. bos/eos (rows of N-1 positions, as training sees)").AtLeast(3);
    /// <summary><c>--steps</c>.</summary>
    public static readonly CliOption<int> Steps = Opt.Int("steps", "N", 10, "timed optimizer steps after one warm-up step").AtLeast(1);
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("CPU backend worker threads");
    /// <summary><c>--checkpoint</c>.</summary>
    public static readonly CliOption<bool> Checkpoint = Opt.Flag("checkpoint",
        "also time one full save (PyTorch .pth + resume-state folder with checksums), the resume from it (verify + load), and the save overhead per 1000 steps");
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("auto");

    /// <summary><c>minimind bench train</c>.</summary>
    public static readonly OptionTable TrainTable = new("bench train",
        new[] { "bench train [--arch NAME ...] [--batch-size 4] [--max-seq-len 256] [--steps 10] [--device D] [--threads N] [--checkpoint]" },
        """
        Builds the model (the architecture options of 'minimind train'; default minimind-v1), runs one
        warm-up optimizer step, then --steps timed steps on seeded random tokens: forward + backward +
        clip_grad_norm_ + AdamW, one micro-batch each. Prints seconds per step and, as its LAST line,
        "tokens/s: <number>".
        """,
        new[]
        {
            new OptionGroup("Options", BatchSize, MaxSeqLen, Steps, Device, Threads, Checkpoint),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[] { "bench train --arch minimind-v1 --batch-size 4 --max-seq-len 256 --steps 5 --device cpu" });

    /// <summary>Everything <c>minimind bench</c> accepts.</summary>
    public static readonly OptionTable Table = new("bench", new[] { "bench train [options]" },
        "Measures training throughput (tokens/s), checkpoint write time and resume latency.", Array.Empty<OptionGroup>(),
        new[] { "bench train --arch minimind-v1 --batch-size 4 --max-seq-len 256 --steps 5 --device cpu" })
    {
        Subcommands = new[] { ("train", "time full optimizer steps; tokens/s on the last line", TrainTable) },
    };

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind bench train</c> command line asks for.</summary>
    public sealed record Settings(int Batch, int Steps, int MaxSeqLen, int Threads, bool Checkpoint, string Device, ModelConfig Config);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark ('train')");
        if (what != "train") throw new UsageException($"unknown benchmark '{what}'; available: train");
        int maxSeqLen = args.Get(MaxSeqLen);
        var v1 = ModelConfig.Preset("minimind-v1") with { MaxSeqLen = Math.Max(512, maxSeqLen) };
        var config = ModelOptions.Parse(args, null, out _, v1);
        config = config with { MaxSeqLen = Math.Max(config.MaxSeqLen, maxSeqLen) };
        var s = new Settings(args.Get(BatchSize), args.Get(Steps), maxSeqLen, args.Get(Threads), args.Get(Checkpoint), args.Get(Device), config);
        args.EnsureAllUsed();
        return s;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var (batch, steps, maxSeqLen, threads, checkpoint, device, config) = Bind(args);

        var log = Console.Out;
        // Random full-length rows: bos + (max-seq-len - 2) random ids + eos, so no position is padding.
        var rng = new Random(1234);
        int rows = batch * (steps + 2);
        int textLen = maxSeqLen - 2;
        var ids = new int[rows * textLen];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(3, config.VocabSize);
        var offsets = new long[rows + 1];
        for (int r = 0; r <= rows; r++) offsets[r] = (long)r * textLen;
        var data = new InMemoryPretrainSource(ids, offsets, maxSeqLen, 1, 2, 0);

        using var backend = BackendFactory.Create(device, threads);
        log.WriteLine(BackendFactory.Describe(backend));
        using var model = MiniMindModel.Create(config, backend, batch, data.SeqLen);
        model.InitRandom(42);
        string outDir = Path.Combine(Path.GetTempPath(), "minimind-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var opts = new TrainOptions { BatchSize = batch, AccumulationSteps = 1, OutDir = outDir, MaxSteps = steps + 1, KeepLast = 1 };
        try
        {
            using var trainer = new Trainer(model, data, opts, TextWriter.Null, "random tokens");
            log.WriteLine($"model: {config.Arch} dim {config.Dim}, {config.NLayers} layers, {model.Parameters.TotalElements:N0} parameters; batch {batch} x {data.SeqLen} tokens");
            var sw = Stopwatch.StartNew();
            trainer.TrainStep(new[] { trainer.MakeBatch(0, 0) }, opts.LearningRate);
            backend.Synchronize();
            log.WriteLine($"warm-up step: {sw.Elapsed.TotalSeconds:F3} s");
            var times = new List<double>();
            var total = Stopwatch.StartNew();
            for (int s = 1; s <= steps; s++)
            {
                sw.Restart();
                var (loss, _) = trainer.TrainStep(new[] { trainer.MakeBatch(0, s) }, opts.LearningRate);
                backend.Synchronize();
                times.Add(sw.Elapsed.TotalSeconds);
                log.WriteLine($"step {s}/{steps}: {times[^1]:F3} s, loss {loss:F4}");
            }
            double secs = total.Elapsed.TotalSeconds;
            double stepS = secs / steps;
            times.Sort();
            log.WriteLine($"step time: mean {stepS:F3} s, median {times[times.Count / 2]:F3} s, min {times[0]:F3} s");
            if (checkpoint)
            {
                sw.Restart();
                var dir = trainer.Save();
                double saveS = sw.Elapsed.TotalSeconds;
                long bytes = Directory.EnumerateFiles(dir).Sum(f => new FileInfo(f).Length) + new FileInfo(trainer.Paths.WeightsPath).Length;
                using var model2 = MiniMindModel.Create(config, backend, batch, data.SeqLen);
                using var trainer2 = new Trainer(model2, data, opts, TextWriter.Null, "random tokens");
                sw.Restart();
                trainer2.LoadResumeFolder(dir);
                backend.Synchronize();
                double loadS = sw.Elapsed.TotalSeconds;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"checkpoint write: {saveS:F3} s ({bytes / 1e6:F1} MB: .pth + resume state, fsynced, SHA-256 of every file)"));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"checkpoint overhead: {100 * saveS / (1000 * stepS):F3}% of a 1000-step save interval ({100 * saveS / (100 * stepS):F2}% at 100)"));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"resume latency (verify checksums + load): {loadS:F3} s"));
            }
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokens/s: {(double)steps * batch * data.SeqLen / secs:F1}"));
            return 0;
        }
        finally
        {
            try { if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true); } catch (IOException) { }
        }
    }
}

using System.Globalization;
using Minimind.Cli.Stages;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Data.Rl;
using Minimind.Training;
using Minimind.Training.Rl;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind bench grpo-memory</c>: the peak memory of real GRPO steps (<c>train --stage grpo</c>'s stage on the one
/// trainer: rollout on the engine, reference log-probs, CISPO update, AdamW) against the sum of the parts a step needs,
/// counted by hand from the model config (<see cref="GrpoMemoryParts"/>). Prints the parts table, the backend's peak
/// allocated bytes (<see cref="IBackend.Memory"/>), on Linux the process peak RSS, and as its LAST line
/// <c>peak/sum: X</c>.
/// </summary>
public static class GrpoMemoryBench
{
    /// <summary><c>--max-gen-len</c>.</summary>
    public static readonly CliOption<int> MaxGenLen = Opt.Int("max-gen-len", "N", 256, "most tokens generated per completion (train_grpo.py: 1024)").AtLeast(1);
    /// <summary><c>--steps</c>.</summary>
    public static readonly CliOption<int> Steps = Opt.Int("steps", "N", 1, "GRPO steps run (each: rollout + reference + update + AdamW)").AtLeast(1);
    /// <summary><c>--parts-only</c>.</summary>
    public static readonly CliOption<bool> PartsOnly = Opt.Flag("parts-only", "print the parts table (the byte model) without building the model or running a step: what a size needs on any device");

    /// <summary><c>minimind bench grpo-memory</c>.</summary>
    public static readonly OptionTable Table = new("bench grpo-memory",
        new[] { "bench grpo-memory [--arch minimind3 ...] [--prompts 2] [--generations 6] [--prompt-tokens 64] [--max-gen-len 256] [--steps 1] [--device D] [--parts-only]" },
        """
        Builds the model (the architecture options of 'minimind train'; default minimind3) with seeded random weights,
        a frozen reference like it, and runs --steps real 'train --stage grpo' steps (CISPO, MiniMind's defaults) on
        --prompts random prompts of --prompt-tokens tokens x --generations samples of up to --max-gen-len tokens: rollout,
        reference log-probs, policy update, AdamW. Prints the parts a step needs, counted by hand from the config
        (weights, gradients, AdamW moments, the update's saved activations, logits and backward scratch, the reference's
        forward, the rollout KV cache; float32), their sum, the backend's peak allocated bytes (every buffer of the
        backend, live at once at most), on Linux the process peak RSS (VmHWM: the runtime and host copies included),
        and as its LAST line "peak/sum: <backend peak / sum of parts>". --parts-only prints the table alone, for sizes
        this machine cannot run (e.g. train_grpo.py's --max-seq-len 768 --max-gen-len 1024 on a GPU).
        """,
        new[]
        {
            new OptionGroup("Options", RolloutBench.Prompts, RolloutBench.Generations, RolloutBench.PromptTokens, MaxGenLen, Steps, PartsOnly, RolloutBench.Device, RolloutBench.Threads),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[] { "bench grpo-memory --device cpu   (minimind3, 2 prompts x 6 samples, 64 + 256 tokens)", "bench grpo-memory --prompt-tokens 768 --max-gen-len 1024 --parts-only" });

    /// <summary>What one <c>minimind bench grpo-memory</c> command line asks for.</summary>
    public sealed record Settings(int Prompts, int Generations, int PromptTokens, int MaxGenLen, int Steps, bool PartsOnly, string Device, int Threads, ModelConfig Config);

    /// <summary>Binds and validates a command line (after the word <c>grpo-memory</c>).</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark");
        if (what != "grpo-memory") throw new UsageException($"expected 'grpo-memory', got '{what}'");
        int prompt = args.Get(RolloutBench.PromptTokens), gen = args.Get(MaxGenLen);
        // the positions a trained rollout row may reach (RlPromptSet.Positions: MiniMind's left pads counted)
        var config = BenchModel.Resolve(args, 2 * prompt + gen);
        var s = new Settings(args.Get(RolloutBench.Prompts), args.Get(RolloutBench.Generations), prompt, gen, args.Get(Steps), args.Get(PartsOnly),
            args.Get(RolloutBench.Device), args.Get(RolloutBench.Threads), config);
        args.EnsureAllUsed();
        return s;
    }

    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(ArgParser args)
    {
        var s = Bind(args);
        var c = s.Config;
        var parts = GrpoMemoryParts.Of(c, s.Prompts, s.Generations, s.PromptTokens, s.MaxGenLen);
        long sum = parts.Sum(p => p.Bytes);
        Console.Out.WriteLine($"model: {c.Arch} dim {c.Dim}, {c.NLayers} layers, {c.NHeads} heads ({c.NKvHeads} kv), ffn {c.EffectiveHiddenDim}{(c.UseMoe ? $", {c.NExperts} experts top-{c.TopK}" : "")}, vocab {c.VocabSize}, " +
            $"{GrpoMemoryParts.Parameters(c):N0} parameters; {s.Prompts} prompts x {s.Generations} samples of {s.PromptTokens} prompt + up to {s.MaxGenLen} new tokens (float32)");
        if (s.PartsOnly)
        {
            Print(parts, sum);
            return 0;
        }

        using var backend = BackendFactory.Create(s.Device, s.Threads);
        Console.Out.WriteLine(BackendFactory.Describe(backend));
        var rng = new Random(1234);
        int ids = Math.Min(256, c.VocabSize); // byte ids: the byte tokenizer decodes the completions for the rule rewards
        var prompts = Enumerable.Range(0, s.Prompts * s.Steps)
            .Select(_ => new RlPrompt("", Enumerable.Range(0, s.PromptTokens).Select(_ => rng.Next(ids)).ToArray(), null)).ToArray();
        var data = RlPromptSet.FromPrompts(prompts, s.PromptTokens, s.MaxGenLen, 0, "random prompts");
        using var model = MiniMindModel.Create(c, backend, s.Prompts * s.Generations, data.SeqLen);
        if (model.Parameters.TotalElements != GrpoMemoryParts.Parameters(c))
            throw new InvalidOperationException($"the hand count of parameters ({GrpoMemoryParts.Parameters(c):N0}) differs from the model's layout ({model.Parameters.TotalElements:N0}): the parts table would be wrong");
        model.InitRandom(42);
        string outDir = Path.Combine(Path.GetTempPath(), "minimind-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var recipe = TrainStages.Get("grpo");
        var d = recipe.Defaults;
        var opts = new TrainOptions
        {
            BatchSize = s.Prompts, AccumulationSteps = 1, OutDir = outDir, MaxSteps = s.Steps, KeepLast = 1, Seed = 42, TokenizerSpec = "byte",
            LearningRate = d.LearningRate, Schedule = d.Schedule, LossSpike = d.LossSpike,
        };
        var settings = StageSettings.Defaults with { Grpo = GrpoSettings.Defaults with { Generations = s.Generations, MaxGenLen = s.MaxGenLen } };
        try
        {
            using var setup = recipe.CreateStage(new StageContext(settings, model, data, opts, backend, TextWriter.Null, null));
            using var trainer = new Trainer(setup.Stage, opts, TextWriter.Null, "random prompts");
            long ready = backend.Memory.LiveBytes;
            for (int step = 0; step < s.Steps; step++)
            {
                var (loss, _, _) = trainer.TrainStepAt(0, step, opts.LearningRate);
                backend.Synchronize();
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step + 1}/{s.Steps}: loss {loss:F4}"));
            }
            Print(parts, sum);
            long peak = backend.Memory.PeakBytes;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"backend ({backend.Name}) buffers before the first step: {Mib(ready)} MiB; peak allocated: {Mib(peak)} MiB ({peak:N0} B)"));
            // The CPU backend's kept SGEMM panels (issue 21) are managed arrays beside its buffers, so the tally above leaves them out.
            if (model.Weights.Buffer is CpuBuffer<float>)
                Console.Out.WriteLine($"kept SGEMM panels (CPU backend, outside its buffers, in the RSS): the policy's {Mib(CpuBackend.PackedBytes(model.Weights))} MiB; " +
                    "the frozen reference keeps its forward layout too (the same size) once it has run twice");
            if (ProcessPeakRss() is { } rss)
                Console.Out.WriteLine($"process peak RSS (VmHWM): {Mib(rss)} MiB (the .NET runtime, JIT, GC headroom and host copies included)");
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak/sum: {(double)peak / sum:F3}"));
            return 0;
        }
        finally
        {
            try { if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Print(IReadOnlyList<MemoryPart> parts, long sum)
    {
        int w = parts.Max(p => p.Name.Length);
        Console.Out.WriteLine($"{"part".PadRight(w)}  {"MiB",10}  how");
        foreach (var p in parts) Console.Out.WriteLine($"{p.Name.PadRight(w)}  {Mib(p.Bytes),10}  {p.Formula}");
        Console.Out.WriteLine($"{"sum of parts".PadRight(w)}  {Mib(sum),10}  ({sum:N0} B)");
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    // The process's peak resident set (Linux /proc/self/status VmHWM), or null where there is none.
    private static long? ProcessPeakRss()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        if (line is null) return null;
        var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
        return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
    }
}

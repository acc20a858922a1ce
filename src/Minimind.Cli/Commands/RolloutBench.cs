using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Generation;
using Minimind.Training.Rl;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind bench rollout</c>: an RL step's rollout batch (B prompts × G samples, MiniMind's GRPO sampling) on one
/// <see cref="RolloutEngine"/> — each prompt prefilled once and forked G − 1 times, all sequences decoded together —
/// against the same B·G sequences generated one after the other at batch 1 (a prefill each). Both use the same seeds, so
/// they must sample the same tokens (the engine's batch invariance: checked, the benchmark fails otherwise). The last
/// line is <c>speedup: X</c> (batched tokens/s over sequential tokens/s).
/// </summary>
public static class RolloutBench
{
    /// <summary><c>--prompts</c>.</summary>
    public static readonly CliOption<int> Prompts = Opt.Int("prompts", "B", 2, "prompts per rollout batch (train_grpo.py's batch size)").AtLeast(1);
    /// <summary><c>--generations</c>.</summary>
    public static readonly CliOption<int> Generations = Opt.Int("generations", "G", 6, "samples per prompt (--num-generations)").AtLeast(1);
    /// <summary><c>--prompt-tokens</c>.</summary>
    public static readonly CliOption<int> PromptTokens = Opt.Int("prompt-tokens", "N", 64, "tokens per prompt (random ids)").AtLeast(1);
    /// <summary><c>--new-tokens</c>.</summary>
    public static readonly CliOption<int> NewTokens = Opt.Int("new-tokens", "N", 256, "tokens generated per sequence (no stop id: every sequence generates exactly N)").AtLeast(1);
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("auto");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("CPU backend worker threads");

    /// <summary><c>minimind bench rollout</c>.</summary>
    public static readonly OptionTable Table = new("bench rollout",
        new[] { "bench rollout [--arch minimind3 ...] [--prompts 2] [--generations 6] [--prompt-tokens 64] [--new-tokens 256] [--device D]" },
        """
        Builds the model (the architecture options of 'minimind train'; default minimind3) with seeded random weights and
        times one rollout batch as 'train --stage grpo' samples it: --prompts random prompts x --generations samples
        (temperature 0.8, top-p 0.85, top-k 50), each prompt prefilled once and forked, all sequences decoded together on
        the rollout engine; then the same sequences one after the other at batch 1 (each with its own prefill), with the
        same seeds. Both must sample the same tokens (checked). Prints each run's tokens/s (generated tokens over wall
        time) and CPU seconds, and as its LAST line "speedup: <batched / sequential tokens/s>".
        """,
        new[]
        {
            new OptionGroup("Options", Prompts, Generations, PromptTokens, NewTokens, Device, Dtype, Threads),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[] { "bench rollout --device cpu   (minimind3, 2 prompts x 6 samples, 64 + 256 tokens)", "bench rollout --new-tokens 64" });

    /// <summary>What one <c>minimind bench rollout</c> command line asks for.</summary>
    public sealed record Settings(int Prompts, int Generations, int PromptTokens, int NewTokens, string Device, Precision Dtype, int Threads, ModelConfig Config);

    /// <summary>Binds and validates a command line (after the word <c>rollout</c>).</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark");
        if (what != "rollout") throw new UsageException($"expected 'rollout', got '{what}'");
        int prompt = args.Get(PromptTokens), fresh = args.Get(NewTokens);
        var config = BenchModel.Resolve(args, prompt + fresh);
        var s = new Settings(args.Get(Prompts), args.Get(Generations), prompt, fresh, args.Get(Device), PrecisionRounding.Parse(args.Get(Dtype)), args.Get(Threads), config);
        args.EnsureAllUsed();
        return s;
    }

    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(ArgParser args)
    {
        var s = Bind(args);
        int n = s.Prompts * s.Generations, context = s.PromptTokens + s.NewTokens;
        using var backend = BackendFactory.Create(s.Device, s.Threads);
        Console.Out.WriteLine(BackendFactory.Describe(backend));
        using var model = MiniMindModel.Create(s.Config, backend, 1, s.Config.MaxSeqLen);
        model.InitRandom(42);
        model.Precision = s.Dtype;
        Console.Out.WriteLine($"model: {s.Config.Arch} dim {s.Config.Dim}, {s.Config.NLayers} layers, vocab {s.Config.VocabSize}, {model.Parameters.TotalElements:N0} parameters, dtype {s.Dtype.Name()}; " +
            $"{s.Prompts} prompts x {s.Generations} samples = {n} sequences of {s.PromptTokens} prompt + {s.NewTokens} new tokens");
        var rng = new Random(1234);
        var prompts = Enumerable.Range(0, s.Prompts).Select(_ => Enumerable.Range(0, s.PromptTokens).Select(_ => rng.Next(s.Config.VocabSize)).ToArray()).ToArray();
        Sampler SamplerOf(int k) => new(GrpoOptions.MiniMindRollout, RolloutRng.SeedOf(7, k));
        GenerationRequest Request(int b, int k, int budget) => new() { Prompt = prompts[b], Sampler = SamplerOf(k), MaxNewTokens = budget, StopIds = Array.Empty<int>() };

        using var batched = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = n, Context = context });
        using var single = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 1, Context = context });
        Generate(single, 1, (_, _) => single.Add(Request(0, n, Math.Min(8, s.NewTokens)))); // warm-up

        int g = s.Generations;
        var (fast, fastTokens) = Time("batched   ", () => Generate(batched, n, (k, ids) => k % g == 0 ? batched.Add(Request(k / g, k, s.NewTokens)) : batched.Fork(ids[k - k % g], SamplerOf(k))));
        var (slow, slowTokens) = Time("sequential", () => Enumerable.Range(0, n).SelectMany(k => Generate(single, 1, (_, _) => single.Add(Request(k / g, k, s.NewTokens)))).ToArray());
        for (int k = 0; k < n; k++)
            if (!fastTokens[k].AsSpan().SequenceEqual(slowTokens[k]))
                throw new InvalidOperationException($"sequence {k}: the batched rollout sampled other tokens than the batch-1 run (the engine is not batch invariant)");
        Console.Out.WriteLine("same tokens: yes (every sequence's batched tokens equal its batch-1 tokens)");
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"speedup: {fast / slow:F2}"));
        return 0;
    }

    // Starts `count` sequences (start(k, ids) returns sequence k's id; a fork reads its parent's from ids), runs them to
    // the end, and returns each one's generated tokens; the engine is empty again afterwards.
    private static int[][] Generate(RolloutEngine engine, int count, Func<int, int[], int> start)
    {
        var ids = new int[count];
        for (int k = 0; k < count; k++) ids[k] = start(k, ids);
        engine.RunAll();
        var tokens = ids.Select(id => engine[id].Completion.ToArray()).ToArray();
        foreach (int id in ids) engine.Release(id);
        return tokens;
    }

    // Runs `generate`, prints its tokens/s, wall and CPU time; returns tokens/s and the tokens.
    private static (double Rate, int[][] Tokens) Time(string name, Func<int[][]> generate)
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var tokens = generate();
        double wall = sw.Elapsed.TotalSeconds, cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        long total = tokens.Sum(t => (long)t.Length);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {tokens.Length} sequences, {total} tokens in {wall:F2} s = {total / wall:F1} tokens/s; {cpu:F1} CPU s ({total / cpu:F1} tokens per CPU second)"));
        return (total / wall, tokens);
    }
}

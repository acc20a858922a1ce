using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Evaluation;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind bench eval</c>: items/s of multiple-choice scoring (what <c>eval --task mc</c> runs per question) with the
/// shared prompt computed once and the choices branched from its KV cache, against the naive way (every choice's whole
/// sequence), side by side in one process on the same seeded random questions and weights. The last line is
/// <c>speedup: X</c> (shared items/s over naive items/s).
/// </summary>
public static class EvalBench
{
    /// <summary><c>--items</c>.</summary>
    public static readonly CliOption<int> Items = Opt.Int("items", "N", 12, "timed questions (after one warm-up question per mode)").AtLeast(1);
    /// <summary><c>--choices</c>.</summary>
    public static readonly CliOption<int> Choices = Opt.Int("choices", "N", 4, "choices per question").AtLeast(1);
    /// <summary><c>--context-tokens</c>.</summary>
    public static readonly CliOption<int> ContextTokens = Opt.Int("context-tokens", "N", 128, "prompt tokens per question (few-shot prompts are longer)").AtLeast(1);
    /// <summary><c>--choice-tokens</c>.</summary>
    public static readonly CliOption<int> ChoiceTokens = Opt.Int("choice-tokens", "N", 24, "tokens per choice (HellaSwag endings ~20-30; C-Eval's \" A\" is 1)").AtLeast(1);
    /// <summary><c>--device</c>.</summary>
    public static readonly CliOption<string> Device = CommonOptions.Device("auto");
    /// <summary><c>--dtype</c>.</summary>
    public static readonly CliOption<string> Dtype = CommonOptions.Dtype("fp32");
    /// <summary><c>--threads</c>.</summary>
    public static readonly CliOption<int> Threads = CommonOptions.Threads("CPU backend worker threads");

    /// <summary><c>minimind bench eval</c>.</summary>
    public static readonly OptionTable Table = new("bench eval",
        new[] { "bench eval [--arch minimind3 ...] [--items 12] [--choices 4] [--context-tokens 128] [--choice-tokens 24] [--device D]" },
        """
        Builds the model (the architecture options of 'minimind train'; default minimind3) with seeded random weights and
        scores --items seeded random questions of --choices choices twice each, alternating: with the prompt computed
        once and the choices run as branches from its KV cache (eval's default), and naively, every choice's whole
        sequence in one batch (eval --share-context false). Prints items/s of both, the largest difference between their
        log-likelihoods, and as its LAST line "speedup: <shared / naive>".
        """,
        new[]
        {
            new OptionGroup("Options", Items, Choices, ContextTokens, ChoiceTokens, Device, Dtype, Threads),
            ModelOptions.Architecture.Without(ModelOptions.MaxSeqLen),
        },
        new[] { "bench eval --arch minimind3 --items 12 --context-tokens 128 --choice-tokens 24 --device cpu" });

    /// <summary>What one <c>minimind bench eval</c> command line asks for.</summary>
    public sealed record Settings(int Items, int Choices, int ContextTokens, int ChoiceTokens, string Device, Precision Dtype, int Threads, ModelConfig Config);

    /// <summary>Binds and validates a command line (after the word <c>eval</c>).</summary>
    public static Settings Bind(ArgParser args)
    {
        var what = args.Positional("what to benchmark");
        if (what != "eval") throw new UsageException($"expected 'eval', got '{what}'");
        int ctx = args.Get(ContextTokens), cont = args.Get(ChoiceTokens);
        var config = BenchModel.Resolve(args, ctx + cont);
        var s = new Settings(args.Get(Items), args.Get(Choices), ctx, cont, args.Get(Device), PrecisionRounding.Parse(args.Get(Dtype)), args.Get(Threads), config);
        args.EnsureAllUsed();
        return s;
    }

    /// <summary>Runs the benchmark; returns the exit code.</summary>
    public static int Run(ArgParser args)
    {
        var s = Bind(args);
        var rng = new Random(1234);
        int V = s.Config.VocabSize;
        int[] Ids(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(3, V)).ToArray();
        var questions = Enumerable.Range(0, s.Items + 1).Select(_ =>
        {
            var ctx = Ids(s.ContextTokens);
            return Enumerable.Range(0, s.Choices).Select(_ => (ctx, Ids(s.ChoiceTokens))).ToArray();
        }).ToArray();

        using var backend = BackendFactory.Create(s.Device, s.Threads);
        Console.Out.WriteLine(BackendFactory.Describe(backend));
        using var model = MiniMindModel.Create(s.Config, backend, s.Choices, s.ContextTokens + s.ChoiceTokens);
        model.InitRandom(42);
        model.Precision = s.Dtype;
        Console.Out.WriteLine($"model: {s.Config.Arch} dim {s.Config.Dim}, {s.Config.NLayers} layers, {model.Parameters.TotalElements:N0} parameters, dtype {s.Dtype.Name()}; " +
            $"{s.Items} questions x {s.Choices} choices, {s.ContextTokens} prompt + {s.ChoiceTokens} choice tokens");
        using var shared = new ChoiceScorer(model, shareContext: true);
        using var naive = new ChoiceScorer(model, shareContext: false);
        shared.Score(questions[0]);
        naive.Score(questions[0]);
        double tShared = 0, tNaive = 0, worst = 0;
        var sw = new Stopwatch();
        for (int i = 1; i <= s.Items; i++)
        {
            // alternate which mode goes first, so a busy machine slows both alike
            var order = i % 2 == 0 ? new[] { shared, naive } : new[] { naive, shared };
            var got = new Dictionary<ChoiceScorer, ChoiceScore[]>();
            foreach (var scorer in order)
            {
                sw.Restart();
                got[scorer] = scorer.Score(questions[i]);
                backend.Synchronize();
                if (scorer == shared) tShared += sw.Elapsed.TotalSeconds; else tNaive += sw.Elapsed.TotalSeconds;
            }
            for (int c = 0; c < s.Choices; c++)
                worst = Math.Max(worst, Math.Abs(got[shared][c].LogLikelihood - got[naive][c].LogLikelihood) / Math.Max(1, Math.Abs(got[naive][c].LogLikelihood)));
        }
        double a = s.Items / tShared, b = s.Items / tNaive;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"shared context: {a:F3} items/s ({tShared / s.Items * 1000:F1} ms/item)"));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"naive:          {b:F3} items/s ({tNaive / s.Items * 1000:F1} ms/item)"));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest relative difference of a log-likelihood between the two: {worst:E2}"));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"speedup: {a / b:F2}"));
        return 0;
    }
}

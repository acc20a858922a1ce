using Minimind.Model.Generation;

namespace Minimind.Cli;

/// <summary>
/// The sampling options (--temperature, --top-k, --top-p, --repetition-penalty, --seed, --greedy) of one command's
/// table, with that command's defaults, declared once and bound to <see cref="SamplingOptions"/>.
/// </summary>
public sealed class SamplingOptionSet
{
    /// <summary><c>--temperature</c>.</summary>
    public readonly CliOption<double> Temperature;
    /// <summary><c>--top-k</c> (sampling).</summary>
    public readonly CliOption<int> TopK;
    /// <summary><c>--top-p</c>.</summary>
    public readonly CliOption<double> TopP;
    /// <summary><c>--repetition-penalty</c>.</summary>
    public readonly CliOption<double> RepetitionPenalty;
    /// <summary><c>--seed</c>.</summary>
    public readonly CliOption<int> Seed;
    /// <summary><c>--greedy</c>.</summary>
    public readonly CliOption<bool> Greedy;

    /// <summary>Declares the options with these defaults.</summary>
    public SamplingOptionSet(double temperature, int topK, double topP, double repetitionPenalty = 1.0, int seed = 42)
    {
        Temperature = Opt.Double("temperature", "X", temperature, "sampling temperature").AtLeast(0);
        TopK = Opt.Int("top-k", "N", topK, "sample among the K most likely ids (0 = off; a MoE model's experts per token come from config.json/the preset)").AtLeast(0);
        TopP = Opt.Double("top-p", "X", topP, "nucleus sampling mass (1 = off)").Check(v => v > 0 && v <= 1, "must be in (0, 1]").Sample("0.5");
        RepetitionPenalty = Opt.Double("repetition-penalty", "X", repetitionPenalty, "positive logits of seen ids divided by X, negative ones multiplied").Positive();
        Seed = Opt.Int("seed", "N", seed, "sampling seed");
        Greedy = Opt.Flag("greedy", "always take the most likely token");
    }

    /// <summary>The options, in --help order.</summary>
    public CliOption[] All => new CliOption[] { Temperature, TopK, TopP, RepetitionPenalty, Seed, Greedy };

    /// <summary>Reads and validates them.</summary>
    public SamplingOptions Bind(ArgParser args)
    {
        var s = new SamplingOptions
        {
            Temperature = (float)args.Get(Temperature),
            TopK = args.Get(TopK),
            TopP = (float)args.Get(TopP),
            RepetitionPenalty = (float)args.Get(RepetitionPenalty),
            Seed = args.Get(Seed),
            Greedy = args.Get(Greedy),
        };
        try { s.Validate(); } catch (ArgumentException e) { throw new UsageException(e.Message); }
        return s;
    }
}

using System.Globalization;
using Minimind.Model.Data.Sft;
using Minimind.Training;

namespace Minimind.Cli.Stages;

/// <summary>
/// How conversation rows are built, with the meaning of MiniMind's <c>dataset/lm_dataset.py</c>: <c>--sft-overflow</c>
/// (SFTDataset cuts <c>input_ids[:max_length]</c>), <c>--add-system-ratio</c> (<c>pre_processing_chat</c>'s
/// add_system_ratio) and <c>--empty-think-ratio</c> (<c>post_processing_chat</c>'s empty_think_ratio: an empty think
/// block is removed when a draw exceeds it, so 1 keeps every one). DPODataset calls only the post-processing, so dpo
/// takes no <c>--add-system-ratio</c>. The values join the run's signature: a resume with another value is refused, naming it.
/// </summary>
public sealed record SftRowOptions(SftOverflow Overflow, double AddSystemRatio, double EmptyThinkRatio)
{
    /// <summary>The seed of the augmentation draws (MiniMind's setup_seed(42)): a pure function of (seed, sample), independent of
    /// --seed, so a resumed run rebuilds the same rows whatever --seed it is given.</summary>
    public const ulong AugmentationSeed = 42;

    /// <summary><c>--sft-overflow</c>.</summary>
    public static readonly CliOption<string> OverflowOption = Opt.Choice("sft-overflow", "truncate",
        "sft/lora/distill/dpo: a conversation longer than --max-seq-len tokens is cut there as MiniMind's SFTDataset (input_ids[:max_length]; " +
        "a reply cut open is trained up to the cut), left out and counted (skip), or stops the run naming file:line (error)", "truncate", "skip", "error");
    /// <summary><c>--add-system-ratio</c>.</summary>
    public static readonly CliOption<double> AddSystemRatioOption = Opt.Double("add-system-ratio", "X", 0.2,
        "sft/lora/distill: share of the conversations without a system message (and without tools) that get one of MiniMind's ten system prompts (pre_processing_chat; 0 = never)")
        .Or(0, TrainStages.BuiltinRun).AtLeast(0).Check(v => v <= 1, "must be at most 1").Sample("0.5");
    /// <summary><c>--empty-think-ratio</c>.</summary>
    public static readonly CliOption<double> EmptyThinkRatioOption = Opt.Double("empty-think-ratio", "X", 0.2,
        "sft/lora/distill/dpo: share of the rendered rows that keep an empty <think>\\n\\n</think>\\n\\n block; the others lose it (post_processing_chat; 1 = keep all)")
        .Or(1, TrainStages.BuiltinRun).AtLeast(0).Check(v => v <= 1, "must be at most 1").Sample("0.5");

    /// <summary>The three options, for the Data group of the command's table.</summary>
    public static CliOption[] Options => new CliOption[] { OverflowOption, AddSystemRatioOption, EmptyThinkRatioOption };

    /// <summary>
    /// Reads the options for <paramref name="stage"/>: the built-in sets (no --data) default to no augmentation — they carry their
    /// own system prompts, sized for the 128-token byte context, and no think blocks — but take explicit values. An option the
    /// stage's data does not use (pretraining text, a token file, --add-system-ratio for dpo) is a usage error naming it.
    /// </summary>
    public static SftRowOptions Bind(ArgParser args, StageRecipe stage, string? dataPath)
    {
        bool builtin = dataPath is null;
        bool tokenFile = dataPath is not null && dataPath.EndsWith(".bin", StringComparison.OrdinalIgnoreCase);
        foreach (var o in Options)
        {
            if (!args.Has(o)) continue;
            if (!stage.ReadsConversations)
                throw new UsageException($"--{o.Name} shapes conversation rows (--stage sft, lora, distill, dpo); --stage {stage.Name} reads plain text");
            if (tokenFile)
                throw new UsageException($"--{o.Name} shapes rows built from a jsonl; {dataPath} is a token file whose rows are already built");
            if (ReferenceEquals(o, AddSystemRatioOption) && !stage.AddsSystemPrompts)
                throw new UsageException($"--add-system-ratio: MiniMind's DPODataset adds no system prompt (only post_processing_chat applies to --stage {stage.Name})");
        }
        string[] mode = builtin ? new[] { TrainStages.BuiltinRun } : Array.Empty<string>();
        var overflow = Enum.Parse<SftOverflow>(args.Get(OverflowOption), ignoreCase: true);
        return new SftRowOptions(overflow, stage.AddsSystemPrompts ? args.Get(AddSystemRatioOption, mode) : 0, args.Get(EmptyThinkRatioOption, mode));
    }

    /// <summary>The model layer's row options at <paramref name="maxSeqLen"/>; no augmentation object when both ratios are neutral.</summary>
    public SftOptions ToSftOptions(int maxSeqLen) => new()
    {
        MaxSeqLen = maxSeqLen,
        Overflow = Overflow,
        Augmentation = AddSystemRatio == 0 && EmptyThinkRatio >= 1 ? null : new SftAugmentation(AugmentationSeed, AddSystemRatio, EmptyThinkRatio),
    };

    /// <summary>The run-signature fields of a stage that reads conversations (none for pretraining).</summary>
    public SignatureFields Signature(StageRecipe stage)
    {
        if (!stage.ReadsConversations) return SignatureFields.None;
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var s = new List<KeyValuePair<string, string>> { new("sft-overflow", Overflow.ToString().ToLowerInvariant()) };
        if (stage.AddsSystemPrompts) s.Add(new("add-system-ratio", F(AddSystemRatio)));
        s.Add(new("empty-think-ratio", F(EmptyThinkRatio)));
        return new SignatureFields(s);
    }
}

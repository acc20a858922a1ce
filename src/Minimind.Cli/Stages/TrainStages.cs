using Minimind.Model.Lora;
using Minimind.Training.Rl;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>What the stage-only options asked for (each is refused, by name, for the other stages).</summary>
public sealed record StageSettings(int LoraRank, double Alpha, double Temperature, string? TeacherWeight, string? TeacherArch, double Beta = DpoStage.DefaultBeta)
{
    /// <summary>The grpo-only options.</summary>
    public GrpoSettings Grpo { get; init; } = GrpoSettings.Defaults;

    /// <summary>--max-total-len (agent only; grpo's options serve agent too).</summary>
    public int AgentMaxTotalLen { get; init; } = AgentRecipe.MaxTotalLen.Default;

    /// <summary>Every stage-only option at its default (the bench).</summary>
    public static StageSettings Defaults { get; } = new(LoraAdapters.DefaultRank, DistillStage.DefaultAlpha, DistillStage.DefaultTemperature,
        DistillRecipe.TeacherWeight.Default, null);
}

/// <summary>
/// The stages of <c>minimind train --stage</c>: every stage's recipe, in MiniMind's pipeline order, and the --stage
/// option and the stage-only options they declare.
/// </summary>
public static class TrainStages
{
    /// <summary>The built-in run's label in --help.</summary>
    public const string BuiltinRun = "built-in run";

    /// <summary>MiniMind's train_pretrain.py (its values are the option table's plain defaults).</summary>
    public static readonly StageRecipe Pretrain = new PretrainRecipe();

    /// <summary>Every stage, in MiniMind's pipeline order.</summary>
    public static IReadOnlyList<StageRecipe> All { get; } = new StageRecipe[] { Pretrain, new SftRecipe(), new LoraRecipe(), new DpoRecipe(), new DistillRecipe(), new GrpoRecipe(), new AgentRecipe() };

    /// <summary><c>--stage</c>.</summary>
    public static readonly CliOption<string> Stage = Opt.Choice("stage", Pretrain.Name,
        "the objective; sets the recipe defaults and file names of MiniMind's script for it (listed below)", All.Select(s => s.Name).ToArray());

    /// <summary>The --stage option and the stage-only options, for the command's table.</summary>
    public static OptionGroup Group { get; } = new("Stage", new CliOption[] { Stage }.Concat(All.SelectMany(r => r.Options)).Distinct().ToArray());

    /// <summary>The stages a stage-only option belongs to (--beta: dpo and grpo), or none for an option every stage takes.</summary>
    public static IReadOnlyList<StageRecipe> OwnersOf(CliOption option) => All.Where(r => r.Options.Any(o => ReferenceEquals(o, option))).ToList();

    /// <summary><c>--beta</c>'s default is the stage's (DPO 0.15, GRPO 0.1).</summary>
    public static readonly StageDefault<double> BetaDefault = new(DpoRecipe.Beta, r => r.Defaults.Beta, r => r.Defaults.Beta);

    /// <summary><c>--num-generations</c>, <c>--max-gen-len</c> and <c>--thinking-ratio</c> default to the RL stage's (grpo or agent).</summary>
    public static readonly StageDefault<int> GenerationsDefault = new(GrpoRecipe.NumGenerations, r => r.Defaults.Generations, r => r.Defaults.Generations);
    /// <inheritdoc cref="GenerationsDefault"/>
    public static readonly StageDefault<int> MaxGenLenDefault = new(GrpoRecipe.MaxGenLen, r => r.Defaults.MaxGenLen);
    /// <inheritdoc cref="GenerationsDefault"/>
    public static readonly StageDefault<double> ThinkingRatioDefault = new(GrpoRecipe.ThinkingRatio, r => r.Defaults.ThinkingRatio, r => r.Defaults.ThinkingRatio);

    /// <summary>The recipe of <paramref name="name"/>.</summary>
    public static StageRecipe Get(string name) => All.First(s => s.Name == name);

    /// <summary>Reads --stage and the stage-only options; one given for another stage is a usage error naming both.</summary>
    public static (StageRecipe Recipe, StageSettings Settings) Bind(ArgParser args, bool builtin)
    {
        var recipe = Get(args.Get(Stage));
        foreach (var option in All.SelectMany(r => r.Options).Distinct())
            if (args.Has(option) && !recipe.Options.Contains(option))
            {
                var owners = OwnersOf(option);
                throw new UsageException($"--{option.Name} belongs to --stage {owners[0].Name}, not --stage {recipe.Name}" +
                    (owners.Count > 1 ? $" (--stage {string.Join(", ", owners.Skip(1).Select(r => r.Name))} takes it too)" : ""));
            }
        double beta = BetaDefault.Pick(args, recipe, builtin);
        string[] mode = builtin ? new[] { BuiltinRun } : Array.Empty<string>();
        var grpo = new GrpoSettings(args.Get(GrpoRecipe.LossType) == "grpo" ? PolicyLossType.Grpo : PolicyLossType.Cispo, GenerationsDefault.Pick(args, recipe, builtin), beta,
            args.Get(GrpoRecipe.Epsilon), args.Get(GrpoRecipe.EpsilonHigh), MaxGenLenDefault.Pick(args, recipe, builtin), ThinkingRatioDefault.Pick(args, recipe, builtin),
            args.Get(GrpoRecipe.RewardUrl));
        var s = new StageSettings(args.Get(LoraRecipe.LoraRank), args.Get(DistillRecipe.Alpha), args.Get(DistillRecipe.Temperature),
            args.Get(DistillRecipe.TeacherWeight), args.Get(DistillRecipe.TeacherArch), beta)
            { Grpo = grpo, AgentMaxTotalLen = args.Get(AgentRecipe.MaxTotalLen, mode) };
        return (recipe, s);
    }

    /// <summary>The save-weight prefix: --save-weight, else the stage's (--lora-name for LoRA).</summary>
    public static string SaveWeight(ArgParser args, StageRecipe stage, CliOption<string?> saveWeight) =>
        (args.Has(saveWeight) ? args.Get(saveWeight) : null) ?? stage.SaveWeight(args);

    /// <summary>The stages' defaults for --help.</summary>
    public static string Describe() => "Stages (each one's defaults, as MiniMind's script for it; the built-in run: batch, lr, epochs shown after '|'):\n" +
        string.Join("\n", All.Select(s => (s, d: s.Defaults)).Select(x =>
            $"  {x.s.Name,-9}trainer/{x.s.Script}: {x.s.Summary}\n" +
            $"           --epochs {x.d.Epochs}|{x.d.DemoEpochs} --batch-size {x.d.BatchSize}|{x.d.DemoBatchSize} --learning-rate {CliOption.Format(x.d.LearningRate)}|{CliOption.Format(x.d.DemoLearningRate)}" +
            $" --accumulation-steps {x.d.AccumulationSteps} --max-seq-len {x.d.MaxSeqLen}\n" +
            $"           --log-interval {x.d.LogInterval} --save-interval {x.d.SaveInterval} --from-weight {x.d.FromWeight}; saves <out-dir>/{x.d.SaveWeight}_<dim>[_moe].pth"));
}

using Minimind.Model;
using Minimind.Model.Lora;
using Minimind.Training.Stages;

namespace Minimind.Cli.Commands;

/// <summary>
/// One stage's recipe defaults, as MiniMind's script for it sets them (<c>trainer/train_*.py</c>), and the
/// toy-size values of the built-in run (no <c>--data</c>).
/// </summary>
public sealed record StageRecipe(
    string Name, string Script, string Summary, string SaveWeight, string FromWeight,
    int Epochs, int BatchSize, double LearningRate, int AccumulationSteps, int MaxSeqLen, int LogInterval, int SaveInterval,
    int DemoEpochs, int DemoBatchSize, double DemoLearningRate);

/// <summary>What the stage-only options asked for (each is refused, by name, for the other stages).</summary>
public sealed record StageSettings(int LoraRank, double Alpha, double Temperature, string? TeacherWeight, string? TeacherArch, double Beta = DpoStage.DefaultBeta);

/// <summary>
/// The stages of <c>minimind train --stage</c>: every per-stage default and every stage-only option is
/// declared here, once.
/// </summary>
public static class TrainStages
{
    /// <summary>The built-in run's label in --help.</summary>
    public const string BuiltinRun = "built-in run";

    /// <summary>MiniMind's train_pretrain.py (its values are the option table's plain defaults).</summary>
    public static readonly StageRecipe Pretrain = new("pretrain", "train_pretrain.py", "next-token pretraining of every weight", "pretrain", "none",
        Epochs: 2, BatchSize: 32, LearningRate: 5e-4, AccumulationSteps: 8, MaxSeqLen: 340, LogInterval: 100, SaveInterval: 1000,
        DemoEpochs: 3, DemoBatchSize: 16, DemoLearningRate: 2e-3);

    /// <summary>Every stage, in MiniMind's pipeline order.</summary>
    public static IReadOnlyList<StageRecipe> All { get; } = new StageRecipe[]
    {
        Pretrain,
        new("sft", "train_full_sft.py", "full supervised fine-tuning (mean CE over the label tokens + MoE aux)", "full_sft", "pretrain",
            Epochs: 2, BatchSize: 16, LearningRate: 1e-5, AccumulationSteps: 1, MaxSeqLen: 768, LogInterval: 100, SaveInterval: 1000,
            DemoEpochs: 3, DemoBatchSize: 16, DemoLearningRate: 1e-3),
        new("lora", "train_lora.py", "LoRA adapters on the square linears, base frozen; only the adapters train and are saved", "lora_medical", "full_sft",
            Epochs: 10, BatchSize: 32, LearningRate: 1e-4, AccumulationSteps: 1, MaxSeqLen: 340, LogInterval: 10, SaveInterval: 1000,
            DemoEpochs: 2, DemoBatchSize: 16, DemoLearningRate: 1e-3),
        new("dpo", "train_dpo.py", "direct preference optimisation on chosen/rejected pairs against a frozen reference (the --from-weight model)", "dpo", "full_sft",
            Epochs: 1, BatchSize: 4, LearningRate: 4e-8, AccumulationSteps: 1, MaxSeqLen: 1024, LogInterval: 100, SaveInterval: 100,
            DemoEpochs: 1, DemoBatchSize: 8, DemoLearningRate: 1e-5),
        new("distill", "train_distillation.py", "distillation from a frozen teacher: alpha·CE + (1-alpha)·T²·KL on the label tokens", "full_dist", "full_sft",
            Epochs: 6, BatchSize: 32, LearningRate: 5e-6, AccumulationSteps: 1, MaxSeqLen: 340, LogInterval: 100, SaveInterval: 100,
            DemoEpochs: 2, DemoBatchSize: 16, DemoLearningRate: 1e-3),
    };

    /// <summary><c>--stage</c>.</summary>
    public static readonly CliOption<string> Stage = Opt.Choice("stage", "pretrain",
        "the objective; sets the recipe defaults and file names of MiniMind's script for it (listed below)", All.Select(s => s.Name).ToArray());
    /// <summary><c>--lora-name</c> (lora): MiniMind's --lora_name, the adapter file's prefix.</summary>
    public static readonly CliOption<string?> LoraName = Opt.String("lora-name", "NAME", null,
        "lora: the adapter file's name, as MiniMind's --lora_name: saves <out-dir>/NAME_<dim>.pth").DefaultIs("lora_medical").Sample("lora_identity");
    /// <summary><c>--lora-rank</c> (lora).</summary>
    public static readonly CliOption<int> LoraRank = Opt.Int("lora-rank", "R", LoraAdapters.DefaultRank, "lora: adapter rank (MiniMind's apply_lora default)").AtLeast(1);
    /// <summary><c>--teacher-weight</c> (distill).</summary>
    public static readonly CliOption<string?> TeacherWeight = Opt.String("teacher-weight", "NAME|PATH", "full_sft",
        "distill: the frozen teacher, <out-dir>/NAME_<dim>.pth of the student's shape or any .pth this project loads (its shapes read from it)").Sample("teacher.pth");
    /// <summary><c>--teacher-arch</c> (distill).</summary>
    public static readonly CliOption<string?> TeacherArch = Opt.ChoiceOrNull("teacher-arch",
        "distill: the teacher's generation when its file does not tell (2024 and minimind2 share keys)", ModelConfig.PresetNames.ToArray()).DefaultIs("detected").Sample("minimind2");
    /// <summary><c>--alpha</c> (distill).</summary>
    public static readonly CliOption<double> Alpha = Opt.Double("alpha", "X", DistillStage.DefaultAlpha, "distill: weight of the CE part").AtLeast(0).Check(v => v <= 1, "must be at most 1");
    /// <summary><c>--temperature</c> (distill).</summary>
    public static readonly CliOption<double> Temperature = Opt.Double("temperature", "T", DistillStage.DefaultTemperature, "distill: softmax temperature of the KL part").Positive();

    /// <summary><c>--beta</c> (dpo).</summary>
    public static readonly CliOption<double> Beta = Opt.Double("beta", "X", DpoStage.DefaultBeta, "dpo: β of the DPO loss (MiniMind's --beta)").Positive();

    private static readonly (CliOption Option, string Stage)[] Owners =
    {
        (LoraName, "lora"), (LoraRank, "lora"), (Beta, "dpo"), (TeacherWeight, "distill"), (TeacherArch, "distill"), (Alpha, "distill"), (Temperature, "distill"),
    };

    /// <summary>The --stage option and the stage-only options, for the command's table.</summary>
    public static OptionGroup Group { get; } = new("Stage", new CliOption[] { Stage }.Concat(Owners.Select(o => o.Option)).ToArray());

    /// <summary>The stage a stage-only option belongs to, or null for an option every stage takes.</summary>
    public static string? OwnerOf(CliOption option) => Owners.FirstOrDefault(o => ReferenceEquals(o.Option, option)).Stage;

    /// <summary>The recipe of <paramref name="name"/>.</summary>
    public static StageRecipe Get(string name) => All.First(s => s.Name == name);

    /// <summary>Reads --stage and the stage-only options; one given for another stage is a usage error naming both.</summary>
    public static (StageRecipe Recipe, StageSettings Settings) Bind(ArgParser args)
    {
        var recipe = Get(args.Get(Stage));
        foreach (var (option, owner) in Owners)
            if (owner != recipe.Name && args.Has(option))
                throw new UsageException($"--{option.Name} belongs to --stage {owner}, not --stage {recipe.Name}");
        var s = new StageSettings(args.Get(LoraRank), args.Get(Alpha), args.Get(Temperature),
            args.Get(TeacherWeight), args.Get(TeacherArch), args.Get(Beta));
        return (recipe, s);
    }

    /// <summary>The save-weight prefix: --save-weight, else --lora-name for LoRA, else the stage's.</summary>
    public static string SaveWeight(ArgParser args, StageRecipe stage, CliOption<string?> saveWeight) =>
        (args.Has(saveWeight) ? args.Get(saveWeight) : null) ?? (stage.Name == "lora" ? args.Get(LoraName) : null) ?? stage.SaveWeight;

    /// <summary>The stages' defaults for --help.</summary>
    public static string Describe() => "Stages (each one's defaults, as MiniMind's script for it; the built-in run: batch, lr, epochs shown after '|'):\n" +
        string.Join("\n", All.Select(s =>
            $"  {s.Name,-9}trainer/{s.Script}: {s.Summary}\n" +
            $"           --epochs {s.Epochs}|{s.DemoEpochs} --batch-size {s.BatchSize}|{s.DemoBatchSize} --learning-rate {CliOption.Format(s.LearningRate)}|{CliOption.Format(s.DemoLearningRate)}" +
            $" --accumulation-steps {s.AccumulationSteps} --max-seq-len {s.MaxSeqLen}\n" +
            $"           --log-interval {s.LogInterval} --save-interval {s.SaveInterval} --from-weight {s.FromWeight}; saves <out-dir>/{s.SaveWeight}_<dim>[_moe].pth"));
}

using Minimind.Model.Lora;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>MiniMind's <c>train_lora.py</c>: adapters on the square linears, the base frozen; only the adapters train and are saved.</summary>
public sealed class LoraRecipe() : ConversationRecipe("lora", "train_lora.py", "LoRA adapters on the square linears, base frozen; only the adapters train and are saved",
    new RecipeDefaults("lora_medical", "full_sft",
        Epochs: 10, BatchSize: 32, LearningRate: 1e-4, AccumulationSteps: 1, MaxSeqLen: 340, LogInterval: 10, SaveInterval: 1000,
        DemoEpochs: 2, DemoBatchSize: 16, DemoLearningRate: 1e-3))
{
    /// <summary><c>--lora-name</c>: MiniMind's --lora_name, the adapter file's prefix.</summary>
    public static readonly CliOption<string?> LoraName = Opt.String("lora-name", "NAME", null,
        "lora: the adapter file's name, as MiniMind's --lora_name: saves <out-dir>/NAME_<dim>.pth").DefaultIs("lora_medical").Sample("lora_identity");
    /// <summary><c>--lora-rank</c>.</summary>
    public static readonly CliOption<int> LoraRank = Opt.Int("lora-rank", "R", LoraAdapters.DefaultRank, "lora: adapter rank (MiniMind's apply_lora default)").AtLeast(1);

    /// <inheritdoc/>
    public override IReadOnlyList<CliOption> Options { get; } = new CliOption[] { LoraName, LoraRank };

    /// <inheritdoc/>
    public override string BenchNote => "sft with rank-16 adapters, base frozen";

    /// <inheritdoc/>
    /// <remarks>--lora-name, else lora_medical.</remarks>
    public override string SaveWeight(ArgParser args) => args.Get(LoraName) ?? Defaults.SaveWeight;

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c)
    {
        var lora = new LoraAdapters(c.Model, c.Settings.LoraRank);
        lora.InitRandom(checked((int)c.Options.Seed));
        return new StageSetup(new LoraStage(c.Model, lora, c.Data), lora);
    }
}

using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>MiniMind's <c>train_full_sft.py</c>: the pretraining loss on every weight, targets on the assistant spans only.</summary>
public sealed class SftRecipe() : ConversationRecipe("sft", "train_full_sft.py", "full supervised fine-tuning (mean CE over the label tokens + MoE aux)",
    new RecipeDefaults("full_sft", "pretrain",
        Epochs: 2, BatchSize: 16, LearningRate: 1e-5, AccumulationSteps: 1, MaxSeqLen: 768, LogInterval: 100, SaveInterval: 1000,
        DemoEpochs: 3, DemoBatchSize: 16, DemoLearningRate: 1e-3))
{
    /// <inheritdoc/>
    public override string BenchNote => "targets only on the last --assistant-fraction of each row (as SFT masks prompts)";

    /// <inheritdoc/>
    public override StageSetup CreateStage(StageContext c) => new(new LanguageModelStage(Name, c.Model, c.Data));
}

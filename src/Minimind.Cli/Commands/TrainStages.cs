namespace Minimind.Cli.Commands;

/// <summary>
/// One stage's recipe defaults, as MiniMind's script for it sets them (<c>trainer/train_*.py</c>), and the
/// toy-size values of the built-in demo (no <c>--data</c>).
/// </summary>
public sealed record StageRecipe(
    string Name, string Script, string Summary, string SaveWeight, string FromWeight,
    int Epochs, int BatchSize, double LearningRate, int AccumulationSteps, int MaxSeqLen, int LogInterval, int SaveInterval,
    int DemoEpochs, int DemoBatchSize, double DemoLearningRate, int DemoSaveInterval);

/// <summary>The stages of <c>minimind train --stage</c>: every per-stage default lives in this one table.</summary>
public static class TrainStages
{
    /// <summary>Every stage, in MiniMind's pipeline order.</summary>
    public static IReadOnlyList<StageRecipe> All { get; } = new StageRecipe[]
    {
        new("pretrain", "train_pretrain.py", "next-token pretraining of every weight", "pretrain", "none",
            Epochs: 2, BatchSize: 32, LearningRate: 5e-4, AccumulationSteps: 8, MaxSeqLen: 340, LogInterval: 100, SaveInterval: 1000,
            DemoEpochs: 3, DemoBatchSize: 16, DemoLearningRate: 2e-3, DemoSaveInterval: 50),
        new("sft", "train_full_sft.py", "full supervised fine-tuning on chat conversations (loss on assistant tokens)", "full_sft", "pretrain",
            Epochs: 2, BatchSize: 16, LearningRate: 1e-5, AccumulationSteps: 1, MaxSeqLen: 768, LogInterval: 100, SaveInterval: 1000,
            DemoEpochs: 3, DemoBatchSize: 16, DemoLearningRate: 1e-3, DemoSaveInterval: 50),
    };

    /// <summary>The stage names, for <c>--stage</c>.</summary>
    public static string[] Names => All.Select(s => s.Name).ToArray();

    /// <summary>The recipe of <paramref name="name"/>; throws a usage error listing the stages when unknown.</summary>
    public static StageRecipe Get(string name) => All.FirstOrDefault(s => s.Name == name)
        ?? throw new UsageException($"--stage '{name}' is not one of: {string.Join(", ", Names)}");

    /// <summary>The defaults block of <c>minimind train --stage NAME --help</c>.</summary>
    public static string Describe(StageRecipe s) => $"""
        Stage '{s.Name}' (MiniMind's trainer/{s.Script}): {s.Summary}.
          defaults: --epochs {s.Epochs} --batch-size {s.BatchSize} --learning-rate {s.LearningRate:R} --accumulation-steps {s.AccumulationSteps}
                    --max-seq-len {s.MaxSeqLen} --log-interval {s.LogInterval} --save-interval {s.SaveInterval}
                    --save-weight {s.SaveWeight} --from-weight {s.FromWeight}
          built-in demo (no --data): --epochs {s.DemoEpochs} --batch-size {s.DemoBatchSize} --learning-rate {s.DemoLearningRate:R} --save-interval {s.DemoSaveInterval}
          saves <out-dir>/{s.SaveWeight}_<dim>[_moe].pth
        """;
}

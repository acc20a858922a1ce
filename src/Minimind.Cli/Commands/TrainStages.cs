namespace Minimind.Cli.Commands;

/// <summary>
/// One stage's recipe defaults, as MiniMind's script for it sets them (<c>trainer/train_*.py</c>), and the
/// toy-size values of the built-in demo (no <c>--data</c>).
/// </summary>
public sealed record StageRecipe(
    string Name, string Script, string Summary, string SaveWeight, string FromWeight,
    int Epochs, int BatchSize, double LearningRate, int AccumulationSteps, int MaxSeqLen, int LogInterval, int SaveInterval,
    int DemoEpochs, int DemoBatchSize, double DemoLearningRate, int DemoSaveInterval);

/// <summary>The options only some stages take (each refused, by name, for the others).</summary>
public sealed record StageOptions(int LoraRank)
{
    /// <summary>The stage-only options and which stage takes each, for <c>--help</c> and the refusal message.</summary>
    public static IReadOnlyList<(string Flag, string Stage, string Help)> Declared { get; } = new[]
    {
        ("lora-name", "lora", "--lora-name NAME        the adapter file's name (MiniMind's --lora_name; default lora_medical): saves <out-dir>/NAME_<dim>.pth"),
        ("lora-rank", "lora", "--lora-rank R           adapter rank (16, as MiniMind's apply_lora)"),
    };

    /// <summary>Reads the stage-only options of <paramref name="stage"/>; any given for another stage is a usage error.</summary>
    public static StageOptions Parse(ArgParser args, StageRecipe stage)
    {
        foreach (var (flag, owner, _) in Declared)
            if (owner != stage.Name && args.Has(flag))
                throw new UsageException($"--{flag} belongs to --stage {owner}, not --stage {stage.Name}");
        return new StageOptions(LoraRank: args.Int("lora-rank", Minimind.Model.Lora.LoraAdapters.DefaultRank));
    }

    /// <summary>The save-weight prefix: --save-weight, or --lora-name for the LoRA stage, or the stage default.</summary>
    public static string SaveWeight(ArgParser args, StageRecipe stage) =>
        args.String("save-weight") ?? (stage.Name == "lora" ? args.String("lora-name") : null) ?? stage.SaveWeight;
}

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
        new("lora", "train_lora.py", "rank-16 LoRA adapters on the square linears; only the adapters train and are saved", "lora_medical", "full_sft",
            Epochs: 10, BatchSize: 32, LearningRate: 1e-4, AccumulationSteps: 1, MaxSeqLen: 340, LogInterval: 10, SaveInterval: 1000,
            DemoEpochs: 2, DemoBatchSize: 16, DemoLearningRate: 1e-3, DemoSaveInterval: 50),
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

        """ + string.Concat(StageOptions.Declared.Where(d => d.Stage == s.Name).Select(d => "  " + d.Help + "\n"));
}

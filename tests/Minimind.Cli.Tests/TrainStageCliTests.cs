using Minimind.Cli;
using Minimind.Cli.Commands;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>Each --stage gets its MiniMind script's defaults (read in trainer/train_*.py); stage-only options stay with their stage.</summary>
public class TrainStageCliTests
{
    private static TrainCommand.Settings Bind(params string[] a) =>
        TrainCommand.Bind(new ArgParser(a.Concat(new[] { "--data", "x.jsonl", "--tokenizer", "byte" }), TrainCommand.Table));

    [Fact]
    public void EachStageHasItsScriptsDefaults()
    {
        var p = Bind();
        Assert.Equal((2, 32, 5e-4, 8, 340, "pretrain", (string?)null), (p.Options.Epochs, p.Options.BatchSize, p.Options.LearningRate, p.Options.AccumulationSteps, p.MaxSeqLen, p.Options.SaveWeight, p.FromWeight));
        var s = Bind("--stage", "sft");
        Assert.Equal((2, 16, 1e-5, 1, 768, "full_sft", (string?)"pretrain"), (s.Options.Epochs, s.Options.BatchSize, s.Options.LearningRate, s.Options.AccumulationSteps, s.MaxSeqLen, s.Options.SaveWeight, s.FromWeight));
        var l = Bind("--stage", "lora", "--lora-name", "lora_identity");
        Assert.Equal((10, 32, 1e-4, 340, "lora_identity", (string?)"full_sft", 16), (l.Options.Epochs, l.Options.BatchSize, l.Options.LearningRate, l.MaxSeqLen, l.Options.SaveWeight, l.FromWeight, l.StageOptions.LoraRank));
        // train_dpo.py: epochs 1, batch 4, lr 4e-8, max_seq_len 1024, save_weight dpo, from_weight full_sft, beta 0.15
        var o = Bind("--stage", "dpo");
        Assert.Equal((1, 4, 4e-8, 1024, "dpo", (string?)"full_sft", 0.15), (o.Options.Epochs, o.Options.BatchSize, o.Options.LearningRate, o.MaxSeqLen, o.Options.SaveWeight, o.FromWeight, o.StageOptions.Beta));
        Assert.Equal(0.3, Bind("--stage", "dpo", "--beta", "0.3").StageOptions.Beta);
        var d = Bind("--stage", "distill");
        Assert.Equal((6, 32, 5e-6, 340, "full_dist", 0.5, 1.5), (d.Options.Epochs, d.Options.BatchSize, d.Options.LearningRate, d.MaxSeqLen, d.Options.SaveWeight, d.StageOptions.Alpha, d.StageOptions.Temperature));
        // A flag given explicitly wins over the stage's default; --from-weight none means random weights.
        Assert.Equal(3e-4, Bind("--stage", "sft", "--learning-rate", "3e-4").Options.LearningRate);
        Assert.Null(Bind("--stage", "sft", "--from-weight", "none").FromWeight);
    }

    // The option's line on a help page, joined with its wrapped continuation lines.
    private static string HelpLine(string page, string option)
    {
        var lines = page.Split('\n');
        int i = Array.FindIndex(lines, l => l.StartsWith("  " + option + " ", StringComparison.Ordinal));
        Assert.True(i >= 0, option + " is not on the page:\n" + page);
        var parts = new List<string> { lines[i].Trim() };
        while (i + 1 < lines.Length && lines[i + 1].StartsWith(new string(' ', 20), StringComparison.Ordinal)) parts.Add(lines[++i].Trim());
        return string.Join(' ', parts);
    }

    [Fact]
    public void StageHelpPageShowsThatStagesDefaultsAndOnlyItsOptions()
    {
        var cmd = new TrainCommand();
        Assert.Null(cmd.HelpFor(new[] { "--help" })); // no --stage: the full page, every stage's options
        var sft = cmd.HelpFor(new[] { "--stage", "sft", "--help" })!;
        Assert.StartsWith("--stage sft (trainer/train_full_sft.py)", sft);
        // train_full_sft.py: epochs 2, batch 16, lr 1e-5, accumulation 1, max_seq_len 768, from_weight pretrain, save_weight full_sft
        Assert.EndsWith("(default: 2; built-in run: 3)", HelpLine(sft, "--epochs N"));
        Assert.EndsWith("(default: 16)", HelpLine(sft, "--batch-size N"));
        Assert.EndsWith("(default: 1E-05; built-in run: 0.001)", HelpLine(sft, "--learning-rate X"));
        Assert.EndsWith("(default: 1)", HelpLine(sft, "--accumulation-steps N"));
        Assert.EndsWith("(default: 768; built-in run: 128)", HelpLine(sft, "--max-seq-len N"));
        Assert.EndsWith("(default: pretrain)", HelpLine(sft, "--from-weight NAME|PATH"));
        Assert.EndsWith("(default: full_sft)", HelpLine(sft, "--save-weight NAME"));
        foreach (var other in new[] { "--beta", "--alpha", "--lora-rank", "--teacher-weight" }) Assert.DoesNotContain("  " + other + " ", sft);
        var dpo = cmd.HelpFor(new[] { "--stage=dpo", "--help" })!;
        Assert.EndsWith("(default: 0.15)", HelpLine(dpo, "--beta X"));
        Assert.EndsWith("(default: 4E-08; built-in run: 1E-05)", HelpLine(dpo, "--learning-rate X"));
        Assert.DoesNotContain("  --alpha ", dpo);
        Assert.Throws<UsageException>(() => cmd.HelpFor(new[] { "--stage", "rlhf", "--help" }));
    }

    [Fact]
    public void StageOnlyOptionsAreRefusedForOtherStages()
    {
        var e = Assert.Throws<UsageException>(() => Bind("--stage", "sft", "--lora-rank", "8"));
        Assert.Contains("--lora-rank belongs to --stage lora, not --stage sft", e.Message);
        e = Assert.Throws<UsageException>(() => Bind("--alpha", "0.3"));
        Assert.Contains("--alpha belongs to --stage distill, not --stage pretrain", e.Message);
        e = Assert.Throws<UsageException>(() => Bind("--stage", "sft", "--beta", "0.2"));
        Assert.Contains("--beta belongs to --stage dpo, not --stage sft", e.Message);
    }
}

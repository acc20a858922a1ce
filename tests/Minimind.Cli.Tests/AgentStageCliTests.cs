using System.Text.Json;
using Minimind.Cli;
using Minimind.Cli.Commands;
using Minimind.Training.Rl;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// <c>train --stage agent</c> from the command line: train_agent.py's defaults (read in its argparse block) while grpo
/// keeps train_grpo.py's for the options they share, its help page, its own option refused elsewhere, and the built-in
/// run end to end (rollouts, rewards, the saved agent_&lt;dim&gt;.pth and the RL metrics in the jsonl).
/// </summary>
public class AgentStageCliTests
{
    private static TrainCommand.Settings Bind(params string[] a) =>
        TrainCommand.Bind(new ArgParser(a.Concat(new[] { "--data", "x.jsonl", "--tokenizer", "byte" }), TrainCommand.Table));

    [Fact]
    public void AgentHasTrainAgentsDefaults()
    {
        // train_agent.py: epochs 1, batch 2, lr 3e-7, max_seq_len 1024, save agent, from full_sft, num_generations 4,
        // beta 0.1, loss cispo, epsilon 0.2, epsilon_high 5.0, max_gen_len 768, max_total_len 2500, thinking_ratio 0.1
        var a = Bind("--stage", "agent");
        Assert.Equal((1, 2, 3e-7, 1, 1024, "agent", (string?)"full_sft"),
            (a.Options.Epochs, a.Options.BatchSize, a.Options.LearningRate, a.Options.AccumulationSteps, a.MaxSeqLen, a.Options.SaveWeight, a.FromWeight));
        var g = a.StageOptions.Grpo;
        Assert.Equal((PolicyLossType.Cispo, 4, 0.1, 0.2, 5.0, 768, 0.1, 2500),
            (g.LossType, g.Generations, g.Beta, g.Epsilon, g.EpsilonHigh, g.MaxGenLen, g.ThinkingRatio, a.StageOptions.AgentMaxTotalLen));
        // grpo keeps train_grpo.py's values for the shared options
        var r = Bind("--stage", "grpo").StageOptions.Grpo;
        Assert.Equal((6, 1024, 0.9), (r.Generations, r.MaxGenLen, r.ThinkingRatio));
        var given = Bind("--stage", "agent", "--num-generations", "3", "--max-gen-len", "64", "--thinking-ratio", "0.5", "--max-total-len", "900", "--loss-type", "grpo");
        Assert.Equal((PolicyLossType.Grpo, 3, 64, 0.5, 900), (given.StageOptions.Grpo.LossType, given.StageOptions.Grpo.Generations,
            given.StageOptions.Grpo.MaxGenLen, given.StageOptions.Grpo.ThinkingRatio, given.StageOptions.AgentMaxTotalLen));
        var e = Assert.Throws<UsageException>(() => Bind("--stage", "grpo", "--max-total-len", "900"));
        Assert.Contains("--max-total-len belongs to --stage agent, not --stage grpo", e.Message);
        e = Assert.Throws<UsageException>(() => Bind("--stage", "sft", "--num-generations", "4"));
        Assert.Contains("--num-generations belongs to --stage grpo, not --stage sft (--stage agent takes it too)", e.Message);
    }

    [Fact]
    public void AgentHelpPageShowsItsDefaults()
    {
        var page = new TrainCommand().HelpFor(new[] { "--stage", "agent", "--help" })!;
        Assert.StartsWith("--stage agent (trainer/train_agent.py)", page);
        string Line(string option) => page.Split('\n').First(l => l.StartsWith("  " + option + " ", StringComparison.Ordinal));
        foreach (var (option, shown) in new[] { ("--num-generations G", "4"), ("--thinking-ratio P", "0.1"), ("--max-gen-len N", "768; built-in run: 24"), ("--max-total-len N", "2500; built-in run: 256") })
        {
            int at = page.IndexOf("  " + option + " ", StringComparison.Ordinal);
            Assert.True(at >= 0, option + " missing:\n" + page);
            int end = page.IndexOf("\n  -", at + 2, StringComparison.Ordinal);
            Assert.Contains($"(default: {shown})", string.Join(' ', page[at..(end < 0 ? page.Length : end)].Split(new[] { '\n', ' ' }, StringSplitOptions.RemoveEmptyEntries)));
        }
        Assert.NotNull(Line("--reward-url URL"));
        Assert.DoesNotContain("  --lora-rank ", page);
    }

    // The built-in demo: pretrain weights (the stage tests' base run) -> agent RL on the built-in tool-use rows.
    [Fact]
    public void BuiltinAgentRunTrainsAndSavesAgentWeights()
    {
        using var d = new TempDir();
        var (code, o) = CliProcess.Run("train", "--stage", "agent", "--device", "cpu", "--from-weight", StageKillResumeTests.Base.Value, "--max-steps", "3",
            "--save-dtype", "f32", "--seed", "3", "--out-dir", d.Path);
        Assert.True(code == 0, o);
        Assert.Contains("agent: cispo loss, 4 rollouts per row of up to 3 turns", o);
        Assert.Contains("built-in agent rows (96 built-in tool-use rows", o);
        Assert.Contains("saved step 3", o);
        Assert.True(File.Exists(Path.Combine(d.Path, "agent_64.pth")), o);
        var steps = File.ReadLines(Path.Combine(d.Path, "checkpoints", "agent_64_metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("reward", out _)).ToList();
        Assert.NotEmpty(steps);
        Assert.Equal(3, steps[^1].GetProperty("step").GetInt32());
        foreach (var s in steps)
        {
            double reward = s.GetProperty("reward").GetDouble();
            Assert.InRange(reward, -3, 3); // MiniMind clips each reward to ±3
            Assert.True(s.GetProperty("completion_len").GetDouble() > 0);
            Assert.True(double.IsFinite(s.GetProperty("loss").GetDouble()));
        }
        // the run resumes as a finished run
        (code, o) = CliProcess.Run("train", "--stage", "agent", "--device", "cpu", "--from-weight", StageKillResumeTests.Base.Value, "--max-steps", "3",
            "--save-dtype", "f32", "--seed", "3", "--out-dir", d.Path, "--resume");
        Assert.True(code == 0, o);
        Assert.Contains("nothing to do", o);
    }
}

using System.Text.Json;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;
using Minimind.Training.Rl;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The rollout stages under Open MPI's mpirun: grpo and agent on the built-in tasks, W = 2 ranks × 1 micro-batch
/// against one process × 2 (the same global batch). Each prompt's rollouts are seeded from its place in the data order,
/// not from the rank that samples it, and the gradients go through the same tree, so the saved weights, the step
/// folders and the logged per-step loss, reward, KL, clip fraction and completion length are bit-identical.
/// </summary>
public class RlMpiTests
{
    private const int Steps = 3;

    // The kill/resume tests' RL run (their base weights, batch 4, seed 5), Steps steps, G = 2 micro-batches as W × per rank.
    private static string[] Args(string stage, string outDir, int accumulation)
    {
        var a = StageKillResumeTests.Args(stage, outDir);
        a[Array.IndexOf(a, "--accumulation-steps") + 1] = accumulation.ToString();
        a[Array.IndexOf(a, "--max-steps") + 1] = Steps.ToString();
        a[Array.IndexOf(a, "--save-interval") + 1] = Steps.ToString();
        return a;
    }

    private static readonly string[] Logged = { "loss", "reward", "reward_std", "kl_ref", "clip_fraction", "completion_len" };

    // Every step's logged values, as their bits, in step order.
    private static List<string> StepValues(string root) =>
        File.ReadLines(root + "_metrics.jsonl").Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("reward", out _))
            .Select(e => e.GetProperty("step").GetInt32() + ": " + string.Join(", ",
                Logged.Select(k => $"{k}={BitConverter.DoubleToInt64Bits(e.GetProperty(k).GetDouble()):x16}"))).ToList();

    [SkippableTheory]
    [InlineData("grpo", "grpo_64.pth")]
    [InlineData("agent", "agent_64.pth")]
    public void TwoRanksEqualOneProcessBitForBit(string stage, string weights)
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var one = new TempDir();
        using var two = new TempDir();
        MpiRun.Start(new[] { Args(stage, one.Path, 2) }).Finish();
        var o = MpiRun.Start(Enumerable.Repeat(Args(stage, two.Path, 1), 2).ToArray()).Finish();
        Assert.Contains("data parallel: world size 2", o);

        string r1 = StageKillResumeTests.Root(stage, one.Path), r2 = StageKillResumeTests.Root(stage, two.Path);
        var expected = StepValues(r1);
        Assert.Equal(Steps, expected.Count);
        Assert.Equal(expected, StepValues(r2));
        // The step folders' buffers and rollout key (state.msgpack records the world size, so it differs by design).
        string f1 = Path.Combine(r1, ResumeStore.FolderName(Steps)), f2 = Path.Combine(r2, ResumeStore.FolderName(Steps));
        Assert.Null(ResumeStore.Verify(f2, out _));
        foreach (var f in new[] { "model.f32", "adam_m.f32", "adam_v.f32", RolloutRng.FileName })
            Assert.True(File.ReadAllBytes(Path.Combine(f1, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(f2, f))), $"{stage}: {f} of W=2 differs from W=1");
        Assert.True(File.ReadAllBytes(Path.Combine(one.Path, weights)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(two.Path, weights))),
            $"{stage}: {weights} of W=2 differs from W=1");
    }
}

using Minimind.Checkpoint.Resume;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Every stage resumes through the same loop: the CLI run of sft, lora, dpo, distill, grpo, ppo and agent (on the built-in conversations, preference pairs, RL tasks and tool-use rows)
/// is SIGKILLed at seeded random
/// moments, resumed with --resume until it finishes, and its final resume state (the trained buffer, AdamW
/// moments, counters, loss log) equals an uninterrupted run's byte for byte.
/// </summary>
public class StageKillResumeTests
{
    internal const int Steps = 8;

    // A short pretraining run whose weights every stage starts from (and the distillation teacher).
    internal static readonly Lazy<string> Base = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "mm-stage-base-" + Guid.NewGuid().ToString("N")[..8]);
        KillResumeTests.Finish(KillResumeTests.Start(new[] { "train", "--device", "cpu", "--max-steps", "3", "--save-dtype", "f32", "--out-dir", dir }, false));
        return Path.Combine(dir, "pretrain_64.pth");
    });

    internal static string[] Args(string stage, string outDir)
    {
        var a = new List<string>
        {
            // ppo: one rollout batch per step (MiniMind's --accumulation-steps 1; RlMpiTests runs 2)
            "train", "--stage", stage, "--device", "cpu", "--max-seq-len", "128", "--batch-size", "4", "--accumulation-steps", stage == "ppo" ? "1" : "2",
            "--max-steps", Steps.ToString(), "--save-interval", "1", "--log-interval", "1", "--keep-last", "2", "--save-dtype", "f32",
            "--seed", "5", "--learning-rate", "1e-3", "--out-dir", outDir,
        };
        if (stage == "distill") a.AddRange(new[] { "--from-weight", "none", "--teacher-weight", Base.Value });
        else a.AddRange(new[] { "--from-weight", Base.Value });
        return a.ToArray();
    }

    internal static string Root(string stage, string outDir) => Path.Combine(outDir, "checkpoints", stage switch
    {
        "sft" => "full_sft_64", "lora" => "lora_medical_64", "dpo" => "dpo_64", "distill" => "full_dist_64", "grpo" => "grpo_64", "ppo" => "ppo_actor_64", "agent" => "agent_64", _ => throw new ArgumentException(stage),
    });

    [Theory]
    [InlineData("sft")]
    [InlineData("lora")]
    [InlineData("dpo")]
    [InlineData("distill")]
    [InlineData("grpo")] // the rollouts' random stream is in the resume state: a resumed run samples the same completions
    [InlineData("ppo")] // and the critic with its own AdamW (compared below with the rollout stream)
    [InlineData("agent")] // multi-turn rollouts with tool turns: the same stream, the same turns
    public void SigkillAtRandomMomentsThenResumeIsBitExact(string stage)
    {
        using var refDir = new TempDir();
        var o = KillResumeTests.Finish(KillResumeTests.Start(Args(stage, refDir.Path), false));
        Assert.Contains($"saved step {Steps}", o);
        var expected = KillResumeTests.FinalState(Root(stage, refDir.Path), Steps);

        var rng = new Random(20261201 + stage.Length * 131 + stage[0]);
        using var d = new TempDir();
        int kills = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var p = KillResumeTests.Start(Args(stage, d.Path), resume: true);
            // Kill only once this attempt has started stepping (a committed checkpoint exists), at a random moment after.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int before = ResumeStore.ListSteps(Root(stage, d.Path)).Count;
            while (!p.HasExited && ResumeStore.ListSteps(Root(stage, d.Path)).Count <= before && sw.ElapsedMilliseconds < 60_000) Thread.Sleep(2);
            if (p.WaitForExit(rng.Next(0, 300))) break;
            KillResumeTests.KillNow(p);
            kills++;
        }
        var last = KillResumeTests.Finish(KillResumeTests.Start(Args(stage, d.Path), resume: true));
        Assert.True(kills > 0, "the run was never interrupted");
        if (!last.Contains("nothing to do")) Assert.Contains("resume check:", last);
        Assert.DoesNotContain("DIFFERENT", last);
        KillResumeTests.AssertSame(expected, KillResumeTests.FinalState(Root(stage, d.Path), Steps), $"{stage} after {kills} kills");
        if (stage == "ppo")
            foreach (var f in PpoStateFiles)
                Assert.True(File.ReadAllBytes(Path.Combine(Root(stage, refDir.Path), ResumeStore.FolderName(Steps), f))
                    .AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Root(stage, d.Path), ResumeStore.FolderName(Steps), f))), $"ppo after {kills} kills: {f} differs from the uninterrupted run");
    }

    // What a PPO step folder holds besides the actor's files and the counters.
    private static readonly string[] PpoStateFiles = { "critic_model.f32", "critic_adam_m.f32", "critic_adam_v.f32", "critic_adam_step.bin", "rollout_rng.bin" };

    // The DPO reference and the distillation teacher are reloaded from their files on every start (they are not in the
    // checkpoint): a resume whose file now holds other weights must be refused, naming the frozen model.
    [Theory]
    [InlineData("dpo", "--from-weight", "reference", "dpo_64.pth")]
    [InlineData("distill", "--teacher-weight", "teacher", "full_dist_64.pth")]
    public void ResumeRefusesAChangedFrozenModelFile(string stage, string flag, string role, string output)
    {
        using var d = new TempDir();
        string start = Path.Combine(d.Path, "start.pth");
        File.Copy(Base.Value, start);
        var args = Args(stage, d.Path);
        args[Array.IndexOf(args, flag) + 1] = start;
        args[Array.IndexOf(args, "--max-steps") + 1] = "2";
        var (code, o) = CliProcess.Run(args);
        Assert.True(code == 0, o);
        Assert.Contains("saved step 2", o);
        // Same shapes, other values: the run's own output.
        File.Copy(Path.Combine(d.Path, output), start, overwrite: true);
        var more = args.Append("--resume").ToArray();
        (code, o) = CliProcess.Run(more);
        Assert.True(code == 1, o);
        Assert.Contains(role, o);
        Assert.Contains("refusing to resume", o);
        // Put the original back: the checkpoint is accepted again (the run is complete).
        File.Copy(Base.Value, start, overwrite: true);
        (code, o) = CliProcess.Run(more);
        Assert.True(code == 0, o);
        Assert.Contains("resumed from", o);
        Assert.Contains("nothing to do", o);
    }
}

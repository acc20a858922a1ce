using System.Diagnostics;
using System.Text.Json;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;
using Minimind.Training;
using Minimind.Training.Rl;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The rollout stages under Open MPI's mpirun: grpo, agent and ppo on the built-in tasks, W = 2 ranks × 1 micro-batch
/// against one process × 2 (the same global batch). Each prompt's rollouts are seeded from its place in the data order,
/// not from the rank that samples it, and the gradients go through the same tree, so the saved weights, the step
/// folders and the logged per-step loss, reward, KL, clip fraction and completion length are bit-identical. ppo
/// besides: its advantages whitened over both ranks' rows, every minibatch's actor and critic gradients summed over
/// the micro-batches, the early stop from their average approximate KL — the critic, both AdamW states and ppo's
/// own logged values (approximate KL, policy and critic loss, both learning rates, minibatches taken) equal too.
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
        // ppo: a KL threshold its first step passes, so the early stop (decided over both ranks) cuts that step short
        return stage == "ppo" ? a.Concat(new[] { "--early-stop-kl", "0.004" }).ToArray() : a;
    }

    private static readonly string[] Logged = { "loss", "reward", "reward_std", "kl_ref", "clip_fraction", "completion_len" };
    private static readonly string[] PpoLogged = { "approx_kl", "policy_loss", "critic_loss", "ppo_minibatches", "actor_lr", "critic_lr" };

    // Every step's logged values, as their bits, in step order.
    private static List<string> StepValues(string root, string stage) =>
        File.ReadLines(root + "_metrics.jsonl").Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("reward", out _))
            .Select(e => e.GetProperty("step").GetInt32() + ": " + string.Join(", ",
                Logged.Concat(stage == "ppo" ? PpoLogged : Array.Empty<string>())
                    .Select(k => $"{k}={BitConverter.DoubleToInt64Bits(e.GetProperty(k).GetDouble()):x16}"))).ToList();

    // What a step folder holds besides the counters (state.msgpack records the world size, so it differs by design).
    private static readonly string[] Buffers = { "model.f32", "adam_m.f32", "adam_v.f32", RolloutRng.FileName };
    private static readonly string[] PpoBuffers = { "critic_model.f32", "critic_adam_m.f32", "critic_adam_v.f32", "critic_adam_step.bin" };

    [SkippableTheory]
    [InlineData("grpo", "grpo_64.pth")]
    [InlineData("agent", "agent_64.pth")]
    [InlineData("ppo", "ppo_actor_64.pth", "ppo_critic_64.pth")]
    public void TwoRanksEqualOneProcessBitForBit(string stage, params string[] weights)
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var one = new TempDir();
        using var two = new TempDir();
        MpiRun.Start(new[] { Args(stage, one.Path, 2) }).Finish();
        var o = MpiRun.Start(Enumerable.Repeat(Args(stage, two.Path, 1), 2).ToArray()).Finish();
        Assert.Contains("data parallel: world size 2", o);

        string r1 = StageKillResumeTests.Root(stage, one.Path), r2 = StageKillResumeTests.Root(stage, two.Path);
        var expected = StepValues(r1, stage);
        Assert.Equal(Steps, expected.Count);
        if (stage == "ppo")
            Assert.Contains(File.ReadLines(r1 + "_metrics.jsonl").Select(l => JsonDocument.Parse(l).RootElement),
                e => e.TryGetProperty("ppo_minibatches", out var m) && m.GetDouble() < 4); // the early stop skipped an epoch
        Assert.Equal(expected, StepValues(r2, stage));
        string f1 = Path.Combine(r1, ResumeStore.FolderName(Steps)), f2 = Path.Combine(r2, ResumeStore.FolderName(Steps));
        Assert.Null(ResumeStore.Verify(f2, out _));
        foreach (var f in Buffers.Concat(stage == "ppo" ? PpoBuffers : Array.Empty<string>()))
            Assert.True(File.ReadAllBytes(Path.Combine(f1, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(f2, f))), $"{stage}: {f} of W=2 differs from W=1");
        foreach (var w in weights)
            Assert.True(File.ReadAllBytes(Path.Combine(one.Path, w)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(two.Path, w))),
                $"{stage}: {w} of W=2 differs from W=1");
    }

    // ppo's kill/resume run (8 steps, a save every step) with --accumulation-steps set.
    private static string[] KillArgs(string outDir, int accumulation, bool resume)
    {
        var a = StageKillResumeTests.Args("ppo", outDir);
        a[Array.IndexOf(a, "--accumulation-steps") + 1] = accumulation.ToString();
        return resume ? a.Append("--resume").ToArray() : a;
    }

    // The last step folder's buffers (the actor, the critic, both AdamW states, the rollout key) and the loss log.
    private static (Dictionary<string, byte[]> Files, List<float> Losses) PpoFinal(string root)
    {
        var dir = Path.Combine(root, ResumeStore.FolderName(StageKillResumeTests.Steps));
        Assert.Null(ResumeStore.Verify(dir, out _));
        var s = TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(dir, "state.msgpack")), dir);
        return (Buffers.Concat(PpoBuffers).ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f))), s.Losses);
    }

    /// <summary>
    /// ppo at W = 2, one rank SIGKILLed at a random moment once a step folder exists (mpirun ends the job), resumed at
    /// W = 1 (--accumulation-steps becomes 2) and at W = 2: the final step folder equals the uninterrupted W = 1 × 2 run's.
    /// </summary>
    [SkippableFact]
    public void PpoSigkillOfOneRankThenResumeAtOneOrTwoRanksIsBitExact()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var refDir = new TempDir();
        MpiRun.Start(new[] { KillArgs(refDir.Path, 2, false) }).Finish();
        var expected = PpoFinal(StageKillResumeTests.Root("ppo", refDir.Path));
        var rng = new Random(20261206);
        for (int trial = 0; trial < 2; trial++)
        {
            int victim = rng.Next(2), delay = rng.Next(0, 400);
            TempDir? d = null;
            MpiRun? job = null;
            bool killed = false;
            // A moment can be missed (the job finished first): retry in a fresh folder, killing sooner.
            for (int attempt = 0; attempt < 4 && !killed; attempt++, delay /= 4)
            {
                d?.Dispose();
                d = new TempDir();
                string root = StageKillResumeTests.Root("ppo", d.Path);
                var args = KillArgs(d.Path, 1, resume: true);
                job = MpiRun.Start(new[] { args, args });
                var sw = Stopwatch.StartNew();
                while (!job.Process.HasExited && sw.ElapsedMilliseconds < 120_000)
                {
                    if (Directory.Exists(root) && ResumeStore.ListSteps(root).Count > 0)
                    {
                        Thread.Sleep(delay);
                        if (!job.Process.HasExited && job.RankPid(victim) is int pid) { Process.GetProcessById(pid).Kill(); killed = true; }
                        break;
                    }
                    Thread.Sleep(1);
                }
                job.Wait(120);
            }
            using var dir = d!;
            Assert.True(killed, $"trial {trial}: the job finished before a kill in 4 attempts:\n{job!.Output}");
            Assert.NotEqual(0, job!.Process.ExitCode);
            var resume = KillArgs(dir.Path, 1, resume: true);
            string o = trial == 0 ? MpiRun.Start(new[] { resume }).Finish() : MpiRun.Start(new[] { resume, resume }).Finish();
            Assert.Contains("resumed from", o);
            var actual = PpoFinal(StageKillResumeTests.Root("ppo", dir.Path));
            foreach (var (f, bytes) in expected.Files)
                Assert.True(bytes.AsSpan().SequenceEqual(actual.Files[f]), $"trial {trial} (killed rank {victim}, resumed at W = {(trial == 0 ? 1 : 2)}): {f} differs from the uninterrupted run");
            Assert.Equal(expected.Losses.Select(BitConverter.SingleToInt32Bits), actual.Losses.Select(BitConverter.SingleToInt32Bits));
        }
    }
}

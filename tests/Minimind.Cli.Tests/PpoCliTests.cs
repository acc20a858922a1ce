using Minimind.Checkpoint;
using Minimind.Cli;
using Minimind.Cli.Commands;
using Minimind.Cli.Stages;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Training;
using Minimind.Training.Checkpointing;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// <c>train --stage ppo</c> through the binary: the built-in run writes the actor's and the critic's <c>.pth</c> (the critic
/// reloads as train_ppo.py's CriticModel, its value head from the file, equal to the step folder's critic); MiniMind's
/// train_ppo.py defaults; what the stage refuses.
/// </summary>
public class PpoCliTests
{
    private static TrainCommand.Settings Bind(params string[] a) =>
        TrainCommand.Bind(new ArgParser(a.Concat(new[] { "--data", "x.jsonl", "--tokenizer", "byte" }), TrainCommand.Table));

    [Fact]
    public void BuiltinRunWritesTheActorAndACriticThatReloads()
    {
        using var d = new TempDir();
        var (code, o) = CliProcess.Run("train", "--stage", "ppo", "--device", "cpu", "--from-weight", StageKillResumeTests.Base.Value, "--max-steps", "3",
            "--save-dtype", "f32", "--out-dir", d.Path);
        Assert.True(code == 0, o);
        Assert.Contains("saved step 3", o);
        Assert.Contains("critic: body from", o);
        string actorPath = Path.Combine(d.Path, "ppo_actor_64.pth"), criticPath = Path.Combine(d.Path, "ppo_critic_64.pth");
        Assert.True(File.Exists(actorPath), o);
        Assert.True(File.Exists(criticPath), o);

        // The critic file: its architecture record is believed, and it loads whole into a critic (value head included).
        var critic = StateDict.Read(criticPath);
        var config = (ArchitectureRecord.Read(critic) ?? throw new Xunit.Sdk.XunitException("ppo_critic_64.pth has no architecture record")).Config;
        using var backend = new CpuBackend();
        using var model = MiniMindModel.CreateCritic(config, backend, 1, 8);
        Assert.True(model.LoadCritic(critic, seed: 1), "the value head did not come from the file");
        var loaded = new float[model.Parameters.TotalElements];
        backend.Download(model.Weights, loaded);
        // ... and equals the critic the step folder holds (f32 save: bit for bit).
        var folder = Path.Combine(d.Path, "checkpoints", "ppo_actor_64", Minimind.Checkpoint.Resume.ResumeStore.FolderName(3));
        var saved = new float[loaded.Length];
        ResumeStateFolder.ReadFloats(folder, "critic_" + ResumeStateFolder.WeightsFile, saved);
        Assert.Equal(saved, loaded);
        // The critic was trained: it differs from the starting body's values where both have them.
        var start = StateDict.Read(StageKillResumeTests.Base.Value);
        var shared = start.Keys.Where(critic.Keys.Contains).ToList();
        Assert.NotEmpty(shared);
        Assert.Contains(shared, k => !start[k].ToFloat32().SequenceEqual(critic[k].ToFloat32()));

        // The actor file is a plain MiniMind model (no value head) that loads strictly.
        var actor = StateDict.Read(actorPath);
        Assert.DoesNotContain(actor.Keys, k => k.StartsWith("value_head", StringComparison.Ordinal));
        using var lm = MiniMindModel.Create(config, backend, 1, 8);
        Assert.True(StateDictLoader.Load(actor, lm.Parameters, new float[lm.Parameters.TotalElements], strict: true).IsComplete);
    }

    [Fact]
    public void DefaultsAreTrainPpoPys()
    {
        // train_ppo.py: epochs 1, batch 2, lr 3e-7, critic lr 5e-7, accumulation 1, max_seq_len 768, max_gen_len 1024, save every 10,
        // from full_sft, save_weight ppo_actor; clip 0.2, vf 0.5, kl 0.02, gamma 1, lam 0.95, value clip 0.2, 2 update epochs,
        // early stop at KL 0.25, minibatches of 2, thinking ratio 0.9.
        var s = Bind("--stage", "ppo");
        Assert.Equal((1, 2, 3e-7, 1, 768, 10, "ppo_actor", (string?)"full_sft"),
            (s.Options.Epochs, s.Options.BatchSize, s.Options.LearningRate, s.Options.AccumulationSteps, s.MaxSeqLen, s.Options.SaveInterval, s.Options.SaveWeight, s.FromWeight));
        Assert.Equal(new PpoSettings(5e-7, 0.2, 0.5, 0.02, 1.0, 0.95, 0.2, 2, 0.25, 2), s.StageOptions.Ppo);
        Assert.Equal((1024, 0.9), (s.StageOptions.Grpo.MaxGenLen, s.StageOptions.Grpo.ThinkingRatio));
        Assert.Equal(LrScheduleKind.CosineAnnealing, s.Options.Schedule);
        Assert.Equal("ppo_critic", PpoRecipe.CriticWeight("ppo_actor"));
        Assert.Equal("mine_critic", PpoRecipe.CriticWeight("mine"));
        var help = new TrainCommand().HelpFor(new[] { "--stage", "ppo", "--help" })!;
        Assert.StartsWith("--stage ppo (trainer/train_ppo.py)", help);
        foreach (var flag in new[] { "--critic-learning-rate", "--clip-epsilon", "--vf-coef", "--kl-coef", "--gamma", "--lam", "--cliprange-value",
                     "--ppo-update-iters", "--early-stop-kl", "--mini-batch-size", "--max-gen-len", "--reward-url" })
            Assert.Contains("  " + flag + " ", help);
        Assert.DoesNotContain("  --num-generations ", help);
    }

    [Fact]
    public void PpoOnlyOptionsAreRefusedElsewhereAndFp16IsRefused()
    {
        var e = Assert.Throws<UsageException>(() => Bind("--stage", "grpo", "--clip-epsilon", "0.1"));
        Assert.Contains("--clip-epsilon belongs to --stage ppo, not --stage grpo", e.Message);
        using var d = new TempDir();
        var (code, o) = CliProcess.Run("train", "--stage", "ppo", "--device", "cpu", "--from-weight", StageKillResumeTests.Base.Value, "--max-steps", "1",
            "--dtype", "fp16", "--out-dir", d.Path);
        Assert.True(code != 0, o);
        Assert.Contains("--stage ppo does not take --dtype fp16", o);
        Assert.False(File.Exists(Path.Combine(d.Path, "ppo_actor_64.pth")));
    }
}

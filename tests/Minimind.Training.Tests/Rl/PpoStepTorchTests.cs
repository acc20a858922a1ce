using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Data.Rl;
using Minimind.Model.Tokenizer;
using Minimind.Training.Rl;
using Minimind.Training.Stages;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// One step of <see cref="PpoStage"/> against train_ppo.py's ppo_train_epoch replayed in PyTorch on MiniMind's own
/// MiniMindForCausalLM and CriticModel (tools/rl/model_check.py, mode ppo): a fixed rollout batch of prompts of different
/// lengths (MiniMind's left pads, counted in the RoPE positions; one length for the MoE model, see below) with completions that stop at eos, that run out, and
/// that are eos alone; the old log-probs, the critic's old values, GAE advantages and returns, then each minibatch's loss
/// and every actor and critic parameter's gradient.
/// </summary>
public class PpoStepTorchTests
{
    private const int Pad = 0, Eos = 2;

    [SkippableTheory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind3-moe")]
    public void PpoStepEqualsMiniMindsPpoTrainEpoch(string name)
    {
        RlModelTorchTests.SkipUnlessReady();
        using var d = new TempDir();
        var (cfg, weights, json) = RlModelTorchTests.Fixture(name);
        var rng = new Random(31);
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(3, cfg.VocabSize)).ToArray();
        // Prompts of different lengths for the dense model; for the MoE model one length: its aux loss routes every token of
        // a row, and MiniMind's left pads (ours are eos fillers after the row, outside the loss) would route differently.
        var prompts = cfg.UseMoe ? new[] { Tokens(5), Tokens(5), Tokens(5) } : new[] { Tokens(4), Tokens(6), Tokens(5) };
        // runs out of tokens (no eos), stops at eos, eos at once
        var completions = new[] { Tokens(5), Tokens(2).Append(Eos).ToArray(), new[] { Eos } };
        var rewards = new[] { 1.5f, -0.7f, 0.3f };
        int b = prompts.Length, p = prompts.Max(x => x.Length), r = completions.Max(x => x.Length), t = p + r;

        using var backend = new CpuBackend(1);
        var sd = StateDict.Read(weights);
        using var actor = MiniMindModel.Create(cfg, backend, b, t);
        var host = new float[actor.Parameters.TotalElements];
        StateDictLoader.Load(sd, actor.Parameters, host, strict: true);
        backend.Upload(actor.Weights, host);
        // the frozen reference: other weights, so the KL term has a gradient
        using var reference = MiniMindModel.Create(cfg, backend, b, t);
        backend.Upload(reference.Weights, host.Select((x, i) => x * (1f + 0.05f * MathF.Sin(i))).ToArray());
        using var critic = MiniMindModel.CreateCritic(cfg, backend, b, t);
        Assert.False(critic.LoadCritic(sd, seed: 3));
        string criticPath = Path.Combine(d.Path, "critic.pth"), refPath = Path.Combine(d.Path, "ref.pth");
        PthWriter.WriteStateDict(criticPath, critic.ExportStateDict());
        PthWriter.WriteStateDict(refPath, reference.ExportStateDict());

        var set = RlPromptSet.FromPrompts(prompts.Select(x => new RlPrompt("", x, null)).ToList(), p, r, Pad, "test prompts");
        var train = new TrainOptions { LearningRate = 1e-3, OutDir = d.Path };
        using var stage = new PpoStage(actor, critic, reference, set, new PpoOptions(), new GrpoRewards(null), new ByteTokenizer(), Eos, b, 1, "test",
            train, Path.Combine(d.Path, "ppo_critic.pth"));
        var rollout = new GrpoRolloutBatch(new[] { 0, 1, 2 }, set.Prompts.ToArray(), p, completions, new[] { "", "", "" },
            rewards.Select(x => new RewardParts(x, null, null, null)).ToArray());
        var prep = stage.Prepare(rollout);

        // MiniMind's gen_out: left pads, prompt, completion; generate() leaves eos after a row's eos
        var genOut = new int[b][];
        for (int i = 0; i < b; i++)
            genOut[i] = Enumerable.Repeat(Pad, p - prompts[i].Length).Concat(prompts[i]).Concat(completions[i])
                .Concat(Enumerable.Repeat(Eos, r - completions[i].Length)).ToArray();
        var minibatches = new[] { new[] { 2, 0 }, new[] { 1 } };
        var o = new PpoOptions();
        var torch = RlModelTorchTests.Run("ppo", new Dictionary<string, object>
        {
            ["config"] = json, ["weights"] = weights, ["critic_weights"] = criticPath, ["ref_weights"] = refPath, ["inputs"] = genOut,
            ["prompt_len"] = p, ["pad_id"] = Pad, ["eos_id"] = Eos, ["rewards"] = rewards, ["minibatches"] = minibatches,
            ["options"] = new Dictionary<string, double>
            {
                ["clip_epsilon"] = o.ClipEpsilon, ["kl_coef"] = o.KlCoef, ["vf_coef"] = o.VfCoef, ["cliprange_value"] = o.ClipRangeValue,
                ["gamma"] = o.Gamma, ["lam"] = o.Lambda, ["early_stop_kl"] = o.EarlyStopKl,
            },
        }, d.Path);

        void Close(float[] ours, string key, double tol)
        {
            double err = RlModelTorchTests.RelErr(ours, torch[key].ToFloat32());
            Assert.True(err < tol, $"{name}: {key} differs by {err:g3} (relative to its largest value)");
        }
        Close(prep.OldLogProbs, "old_logp", 1e-5);
        Close(prep.RefLogProbs, "ref_logp", 1e-5);
        Close(prep.Advantages.OldValues, "old_values", 1e-5);
        Close(prep.Advantages.Returns, "returns", 1e-5);
        Close(prep.Advantages.Advantages, "advantages", 1e-4);
        for (int k = 0; k < minibatches.Length; k++)
        {
            actor.ZeroGradients();
            critic.ZeroGradients();
            var m = stage.Minibatch(prep, minibatches[k], stopped: false, backward: true);
            Assert.False(m.Stopped);
            Assert.Equal(0f, torch[$"mb{k}/stop"].ToFloat32()[0]);
            float want = torch[$"mb{k}/loss"].ToFloat32()[0];
            Assert.True(Math.Abs(m.Loss - want) <= 1e-5 + 1e-4 * Math.Abs(want), $"{name}: minibatch {k} loss {m.Loss} (aux {m.Aux}) vs PyTorch {want} (aux {torch[$"mb{k}/aux"].ToFloat32()[0]})");
            RlModelTorchTests.Grads(actor, torch, 1e-4, $"mb{k}/grad/");
            RlModelTorchTests.Grads(critic, torch, 1e-4, $"mb{k}/critic_grad/");
        }
    }
}

using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Tests;
using Minimind.Training.Rl;
using Minimind.Training.Rl.Agent;
using Minimind.Training.Stages;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// The model side of the RL losses against MiniMind's own model code (model_minimind.py, train_ppo.py's CriticModel,
/// run by tools/rl/model_check.py): per-token log-probs and the backward from their gradients (plus the MoE aux loss),
/// and the PPO critic — value_head(norm(norm(h))), its state-dict keys, its values and every parameter's gradient —
/// on the minimind-3 model fixtures (tests/fixtures/model).
/// </summary>
public class RlModelTorchTests
{
    private static readonly string Mirror = Environment.GetEnvironmentVariable("MM_MINIMIND_REPO") ?? "/work/.mirror/jingyaogong+minimind/repo";

    internal static void SkipUnlessReady()
    {
        Skip.IfNot(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        Skip.IfNot(Directory.Exists(Mirror), $"MiniMind's git repository is not at {Mirror} (set MM_MINIMIND_REPO to a clone of jingyaogong/minimind)");
    }

    internal static (ModelConfig Config, string Weights, JsonElement Json) Fixture(string name)
    {
        string dir = Path.Combine(TestEnvironment.Fixtures("model"), name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        return (ModelConfigJson.Load(Path.Combine(dir, "config.json"), "minimind3"), Path.Combine(dir, "model.pth"), doc.RootElement.Clone());
    }

    internal static StateDict Run(string mode, Dictionary<string, object> spec, string dir)
    {
        var specPath = Path.Combine(dir, mode + ".json");
        File.WriteAllText(specPath, JsonSerializer.Serialize(spec));
        var outPath = Path.Combine(dir, mode + "_out.pth");
        var o = TestPaths.RunPython(Path.Combine(TestPaths.RepoRoot, "tools", "rl", "model_check.py"), mode, specPath, outPath, Mirror);
        Assert.Contains("OK " + mode, o);
        return StateDict.Read(outPath);
    }

    // Every parameter's gradient within tol of PyTorch's, relative to its own scale or, for a gradient that is only
    // rounding noise in PyTorch (a top-1 router's after weight renormalisation), to a thousandth of the largest one.
    internal static void Grads(MiniMindModel model, StateDict torch, double tol, string prefix = "grad/")
    {
        var g = new float[model.Parameters.TotalElements];
        model.Backend.Download(model.Gradients, g);
        double global = model.Parameters.Owners.Max(e => (double)torch[prefix + e.Name].ToFloat32().Max(Math.Abs));
        Assert.True(global > 0, "PyTorch's gradients are all zero: the comparison would be vacuous");
        foreach (var e in model.Parameters.Owners)
        {
            var theirs = torch[prefix + e.Name].ToFloat32();
            var ours = g.AsSpan((int)e.Offset, (int)e.Numel);
            double diff = 0, scale = 1e-3 * global;
            for (int i = 0; i < ours.Length; i++) { diff = Math.Max(diff, Math.Abs((double)ours[i] - theirs[i])); scale = Math.Max(scale, Math.Abs((double)theirs[i])); }
            Assert.True(diff / scale < tol, $"gradient of {e.Name}: relative difference {diff / scale:g3} (max |theirs| {theirs.Max(Math.Abs):g3})");
        }
    }

    // max |ours − theirs| / max |theirs|, the model parity tests' measure
    internal static double RelErr(ReadOnlySpan<float> ours, ReadOnlySpan<float> theirs)
    {
        Assert.Equal(theirs.Length, ours.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < ours.Length; i++) { diff = Math.Max(diff, Math.Abs((double)ours[i] - theirs[i])); scale = Math.Max(scale, Math.Abs((double)theirs[i])); }
        return diff / Math.Max(scale, 1e-30);
    }

    [SkippableTheory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind3-moe")]
    public void TokenLogProbsAndTheirBackwardEqualMiniMinds(string name)
    {
        SkipUnlessReady();
        using var d = new TempDir();
        var (cfg, weights, json) = Fixture(name);
        const int b = 2, t = 12;
        var rng = new Random(5);
        var inputs = Enumerable.Range(0, b * t).Select(_ => rng.Next(cfg.VocabSize)).ToArray();
        var targets = Enumerable.Range(0, b * t).Select(i => i % 5 == 1 ? Batch.IgnoreIndex : rng.Next(cfg.VocabSize)).ToArray();
        var dlogp = Enumerable.Range(0, b * t).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var backend = new CpuBackend(1);
        using var model = MiniMindModel.Create(cfg, backend, b, t);
        model.LoadStateDict(StateDict.Read(weights));
        var batch = new Batch(b, t, inputs, targets);
        var (lp, aux) = model.TokenLogProbs(batch);
        model.ZeroGradients();
        model.TokenLogProbsBackward(batch, dlogp, lossScale: 0.7f);
        var torch = Run("policy", new Dictionary<string, object>
        {
            ["config"] = json, ["weights"] = weights, ["inputs"] = StageTorchTests.Rows(inputs, b, t),
            ["targets"] = StageTorchTests.Rows(targets, b, t), ["dlogp"] = Enumerable.Range(0, b).Select(i => dlogp[(i * t)..((i + 1) * t)]).ToArray(),
            ["aux_scale"] = 0.7,
        }, d.Path);
        double lpErr = RelErr(lp, torch["logp"].ToFloat32());
        Assert.True(lpErr < 1e-5, $"per-token log-probs differ: {lpErr:g3}");
        Assert.Equal(torch["aux"].ToFloat32()[0], aux, 5);
        Grads(model, torch, 1e-4);
    }

    [SkippableTheory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind3-moe")]
    public void CriticIsMiniMindsCriticModel(string name)
    {
        SkipUnlessReady();
        using var d = new TempDir();
        var (cfg, weights, json) = Fixture(name);
        const int b = 2, t = 10;
        var rng = new Random(9);
        var inputs = Enumerable.Range(0, b * t).Select(_ => rng.Next(cfg.VocabSize)).ToArray();
        var dvalues = Enumerable.Range(0, b * t).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var backend = new CpuBackend(1);
        using var critic = MiniMindModel.CreateCritic(cfg, backend, b, t);
        // as train_ppo.py: the actor's (SFT) weights, the value head at its initialisation
        Assert.False(critic.LoadCritic(StateDict.Read(weights), seed: 1));
        var criticPath = Path.Combine(d.Path, "ppo_critic.pth");
        PthWriter.WriteStateDict(criticPath, critic.ExportStateDict());
        var values = critic.Values(inputs, b, t);
        critic.ZeroGradients();
        critic.ValuesBackward(b, t, dvalues);
        // model_check.py loads the file strictly into train_ppo.py's CriticModel: the keys are MiniMind's
        var torch = Run("critic", new Dictionary<string, object>
        {
            ["config"] = json, ["weights"] = criticPath, ["inputs"] = StageTorchTests.Rows(inputs, b, t),
            ["dvalues"] = Enumerable.Range(0, b).Select(i => dvalues[(i * t)..((i + 1) * t)]).ToArray(),
        }, d.Path);
        double vErr = RelErr(values, torch["values"].ToFloat32());
        Assert.True(vErr < 1e-5, $"values differ: {vErr:g3} ({values[0]} vs {torch["values"].ToFloat32()[0]})");
        Grads(critic, torch, 1e-4);
        // a saved critic reloads with its value head
        using var again = MiniMindModel.CreateCritic(cfg, backend, b, t);
        Assert.True(again.LoadCritic(StateDict.Read(criticPath), seed: 2));
        Assert.Equal(values, again.Values(inputs, b, t));
    }

    /// <summary>
    /// One agent step (<see cref="AgentStage.Train"/>: packing, the observation and prompt masks, the first-eos cut, the cut
    /// to the last max_total_len tokens, right padding, policy and reference log-probs, GRPO/CISPO with empty rows left out,
    /// the MoE aux loss) against train_agent.py's own rl_train_epoch on MiniMind's model code, on the same hand-made
    /// rollouts, rewards and old log-probs: the loss and every parameter's gradient. The byte tokenizer's ids (pad 256, eos
    /// 258), so the fixture's architecture with a 259-token vocabulary and random weights scaled up 3x (logits of order 1).
    /// The MoE case has rows of one length: MiniMind masks right pads as attention keys, which changes only the pad
    /// positions' hidden states — nothing the policy loss reads, but the MoE aux loss counts them (here a pad position
    /// attends to the pads before it too).
    /// </summary>
    [SkippableTheory]
    [InlineData("minimind3-dense", "cispo")]
    [InlineData("minimind3-dense", "grpo")]
    [InlineData("minimind3-moe", "cispo")]
    public void AgentStageStepEqualsMiniMindsOnItsModel(string name, string lossType)
    {
        SkipUnlessReady();
        using var d = new TempDir();
        var (fixtureCfg, _, json) = Fixture(name);
        var cfg = fixtureCfg with { VocabSize = 259, MaxSeqLen = 256 };
        var config = System.Text.Json.Nodes.JsonNode.Parse(json.GetRawText())!;
        config["vocab_size"] = 259;
        bool moe = cfg.UseMoe;
        const int g = 2, rowsPerStep = 2, maxTotalLen = 20, eos = 258, pad = 256;
        var rng = new Random(lossType.Length * 7 + (moe ? 1 : 0));
        int Token() { int t; do t = rng.Next(259); while (t == pad || t == eos); return t; }
        // prompt, then model spans (mask 1) and observation spans (mask 0); one model span holds an eos (the loss stops
        // there), one rollout exceeds max_total_len (cut on the left), and without MoE the rows have different lengths.
        var shapes = moe
            ? new[] { (6, new[] { 4, -3, 3 }), (5, new[] { 3, -4, 4 }), (7, new[] { 9 }), (4, new[] { 2, -2, 2, -2, 4 }) }
            : new[] { (6, new[] { 4, -3, 3 }), (5, new[] { 6 }), (9, new[] { 3, -5, 4, -2, 3 }), (4, new[] { 2, -2, 2 }) };
        var rollouts = shapes.Select((shape, r) =>
        {
            var (prompt, spans) = shape;
            var ids = new List<int>(); var mask = new List<int>(); var old = new List<float>();
            foreach (int span in spans)
                for (int k = 0; k < Math.Abs(span); k++)
                {
                    ids.Add(r == 0 && span > 0 && k == 1 && ids.Count > 6 ? eos : Token());
                    mask.Add(span > 0 ? 1 : 0);
                    old.Add(span > 0 ? (float)(-4 - 3 * rng.NextDouble()) : 0f);
                }
            return new AgentRollout(Enumerable.Range(0, prompt).Select(_ => Token()).ToArray(), ids.ToArray(), mask.ToArray(), old.ToArray());
        }).ToArray();
        Assert.True(rollouts[2].PromptIds.Length + rollouts[2].ResponseIds.Length > maxTotalLen || moe, "a rollout should be cut");
        var rewards = new[] { 1.5f, -0.25f, 0.75f, 0.5f };

        using var backend = new CpuBackend(1);
        MiniMindModel Model(int seed, string file)
        {
            var m = MiniMindModel.Create(cfg, backend, g * rowsPerStep, 256);
            m.InitRandom(seed);
            var w = new float[m.Parameters.TotalElements];
            backend.Download(m.Weights, w);
            for (int i = 0; i < w.Length; i++) w[i] *= 3f;
            backend.Upload(m.Weights, w);
            PthWriter.WriteStateDict(Path.Combine(d.Path, file), m.ExportStateDict());
            return m;
        }
        using var policy = Model(11, "policy.pth");
        using var reference = Model(12, "reference.pth");
        var set = Minimind.Training.Rl.Agent.AgentTaskSet.Builtin(Minimind.Model.Chat.ChatFormat.Load("byte"), 160, 24, 256, count: 2);
        var loss = lossType == "grpo" ? PolicyLossType.Grpo : PolicyLossType.Cispo;
        var options = new AgentOptions { Policy = new GrpoOptions { Loss = new PolicyLossOptions(loss, 0.1, 0.2, 1.5), Generations = g }, MaxTotalLen = maxTotalLen };
        using var stage = new AgentStage(policy, reference, set, options, null, rowsPerStep, seed: 1, "test");
        var trajectories = rollouts.Select((x, i) => new AgentTrajectory(i / g, x, new[] { "" }, false, false, x.ResponseMask.Sum())).ToArray();
        var batch = new AgentRolloutBatch(new[] { 0, 1 }, trajectories, rewards.Select(x => new AgentRewardParts(x, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)).ToArray());
        policy.ZeroGradients();
        var (ours, result) = stage.Train(batch, 1f);
        Assert.True(result.Tokens > 0);

        var torch = Run("agent_step", new Dictionary<string, object>
        {
            ["config"] = config, ["weights"] = Path.Combine(d.Path, "policy.pth"), ["ref_weights"] = Path.Combine(d.Path, "reference.pth"),
            ["inputs"] = new[] { new[] { 0 } },
            ["prompt_ids"] = rollouts.Select(x => x.PromptIds).ToArray(), ["response_ids"] = rollouts.Select(x => x.ResponseIds).ToArray(),
            ["response_masks"] = rollouts.Select(x => x.ResponseMask).ToArray(), ["old_logps"] = rollouts.Select(x => x.OldLogProbs.Select(v => (double)v).ToArray()).ToArray(),
            ["rewards"] = rewards.Select(v => (double)v).ToArray(), ["num_generations"] = g, ["loss_type"] = lossType, ["beta"] = 0.1, ["epsilon"] = 0.2,
            ["epsilon_high"] = 1.5, ["pad_id"] = pad, ["eos_id"] = eos, ["max_total_len"] = maxTotalLen,
        }, d.Path);
        float theirs = torch["loss"].ToFloat32()[0];
        Assert.True(MathF.Abs(ours - theirs) <= 1e-5f + 1e-4f * MathF.Abs(theirs), $"loss {ours:R}, MiniMind {theirs:R}");
        Grads(policy, torch, 2e-4);
    }

    /// <summary>The critic and the per-token backward on the ILGPU kernels (CPU simulator) equal the CPU backend's.</summary>
    [Fact]
    public void CriticAndTokenLogProbsOnIlgpuEqualTheCpuBackend()
    {
        var (cfg, weights, _) = Fixture("minimind3-dense");
        const int b = 2, t = 6;
        var rng = new Random(3);
        var inputs = Enumerable.Range(0, b * t).Select(_ => rng.Next(cfg.VocabSize)).ToArray();
        var targets = Enumerable.Range(0, b * t).Select(i => i % 4 == 0 ? Batch.IgnoreIndex : rng.Next(cfg.VocabSize)).ToArray();
        var grad = Enumerable.Range(0, b * t).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        (float[] Values, float[] CriticGrads, float[] LogProbs, float[] PolicyGrads) Run(Minimind.Kernels.IBackend be)
        {
            using var critic = MiniMindModel.CreateCritic(cfg, be, b, t);
            critic.LoadCritic(StateDict.Read(weights), seed: 4);
            var v = critic.Values(inputs, b, t);
            critic.ZeroGradients();
            critic.ValuesBackward(b, t, grad);
            var cg = new float[critic.Parameters.TotalElements];
            be.Download(critic.Gradients, cg);
            using var actor = MiniMindModel.Create(cfg, be, b, t);
            actor.LoadStateDict(StateDict.Read(weights));
            var batch = new Batch(b, t, inputs, targets);
            var (lp, _) = actor.TokenLogProbs(batch);
            actor.ZeroGradients();
            actor.TokenLogProbsBackward(batch, grad, 1f);
            var pg = new float[actor.Parameters.TotalElements];
            be.Download(actor.Gradients, pg);
            return (v, cg, lp, pg);
        }
        using var cpu = new CpuBackend(1);
        using var ilgpu = Minimind.Kernels.Ilgpu.IlgpuBackend.CreateCpuSimulator();
        var want = Run(cpu);
        var got = Run(ilgpu);
        Assert.True(RelErr(got.Values, want.Values) < 1e-5, "values");
        Assert.True(RelErr(got.LogProbs, want.LogProbs) < 1e-5, "log-probs");
        Assert.True(RelErr(got.CriticGrads, want.CriticGrads) < 1e-4, "critic gradients");
        Assert.True(RelErr(got.PolicyGrads, want.PolicyGrads) < 1e-4, "policy gradients");
    }

    [Fact]
    public void CriticRefusesAnIncompleteBody()
    {
        var (cfg, weights, _) = Fixture("minimind3-dense");
        using var backend = new CpuBackend(1);
        using var critic = MiniMindModel.CreateCritic(cfg, backend, 1, 4);
        var sd = StateDict.Read(weights);
        var partial = new StateDict();
        foreach (var (k, v) in sd) if (k != "model.norm.weight") partial.Add(k, v);
        var e = Assert.Throws<StateDictLoadException>(() => critic.LoadCritic(partial, 1));
        Assert.Contains("missing model.norm.weight", e.Message);
        using var actor = MiniMindModel.Create(cfg, backend, 1, 4);
        Assert.Throws<InvalidOperationException>(() => actor.Values(new[] { 1, 2 }, 1, 2));
    }
}

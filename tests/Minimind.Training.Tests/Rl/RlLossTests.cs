using System.Text.Json;
using Minimind.Training.Rl;
using Minimind.Training.Rl.Agent;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// GRPO/CISPO, the agent step and PPO against PyTorch replays of MiniMind's formulas (tools/rl/loss_ref.py), each case
/// checked, when the fixture was written, against MiniMind's own grpo_train_epoch / rl_train_epoch / ppo_train_epoch run
/// on leaf-tensor mocks: losses and the gradients w.r.t. per-token log-probs and values to float32 tolerance, masks,
/// advantages, agent packing and PPO's GAE/returns/whitening (tests/fixtures/rl/losses.json).
/// </summary>
public class RlLossTests
{
    private static readonly JsonDocument Doc = RlFixtures.Load("losses.json");

    private static float[] Flat(JsonElement e) => e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0 && e[0].ValueKind == JsonValueKind.Array
        ? e.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetSingle())).ToArray()
        : e.EnumerateArray().Select(x => x.GetSingle()).ToArray();

    private static int[] FlatInt(JsonElement e) => e.EnumerateArray().SelectMany(r => r.ValueKind == JsonValueKind.Array
        ? r.EnumerateArray().Select(x => x.GetInt32()) : new[] { r.GetInt32() }).ToArray();

    private static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, float atol = 2e-6f, float rtol = 2e-5f)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= atol + rtol * MathF.Abs(expected[i]),
                $"{what}[{i}]: {actual[i]:R}, PyTorch {expected[i]:R}");
    }

    private static PolicyLossOptions Options(JsonElement c) => new(
        c.GetProperty("loss_type").GetString() == "grpo" ? PolicyLossType.Grpo : PolicyLossType.Cispo,
        c.GetProperty("beta").GetDouble(), c.GetProperty("epsilon").GetDouble(), c.GetProperty("epsilon_high").GetDouble());

    public static TheoryData<int> GrpoCases() => new(Enumerable.Range(0, Doc.RootElement.GetProperty("grpo").GetArrayLength()));
    public static TheoryData<int> AgentCases() => new(Enumerable.Range(0, Doc.RootElement.GetProperty("agent").GetArrayLength()));
    public static TheoryData<int> PpoCases() => new(Enumerable.Range(0, Doc.RootElement.GetProperty("ppo").GetArrayLength()));

    [Theory]
    [MemberData(nameof(GrpoCases))]
    public void GrpoStepEqualsMiniMinds(int index)
    {
        var c = Doc.RootElement.GetProperty("grpo")[index];
        var e = c.GetProperty("expected");
        var ids = c.GetProperty("completion_ids");
        int rows = ids.GetArrayLength(), width = ids[0].GetArrayLength();
        var adv = GroupAdvantages.Compute(Flat(c.GetProperty("rewards")), c.GetProperty("num_generations").GetInt32());
        Close(Flat(e.GetProperty("advantages")), adv, "advantages", 1e-5f, 1e-5f);
        var mask = CompletionMask.UpToFirstEos(FlatInt(ids), default, rows, width, c.GetProperty("eos_id").GetInt32());
        Assert.Equal(Flat(e.GetProperty("mask")), mask);
        var dlogp = new float[rows * width];
        var res = PolicyLoss.Compute(Flat(c.GetProperty("logp")), Flat(c.GetProperty("old_logp")), Flat(c.GetProperty("ref_logp")), mask,
            Flat(e.GetProperty("advantages")), rows, width, Options(c), skipEmptyRows: false, scale: 1f, dlogp);
        Close(new[] { e.GetProperty("loss").GetSingle() }, new[] { res.Loss }, "loss");
        Close(new[] { e.GetProperty("kl_logged").GetSingle() }, new[] { res.KlLogged }, "logged KL");
        Close(Flat(e.GetProperty("dlogp")), dlogp, "d loss / d logp");
        Assert.True(res.ClipFraction > 0, "the case should clip some ratios");
    }

    [Theory]
    [MemberData(nameof(AgentCases))]
    public void AgentStepEqualsMiniMinds(int index)
    {
        var c = Doc.RootElement.GetProperty("agent")[index];
        var e = c.GetProperty("expected");
        int n = c.GetProperty("prompt_ids").GetArrayLength();
        var rollouts = Enumerable.Range(0, n).Select(i => new AgentRollout(
            c.GetProperty("prompt_ids")[i].EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("response_ids")[i].EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("response_masks")[i].EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("old_logps")[i].EnumerateArray().Select(x => x.GetSingle()).ToArray())).ToList();
        var batch = AgentBatch.Pack(rollouts, c.GetProperty("max_total_len").GetInt32(), c.GetProperty("pad_id").GetInt32(), c.GetProperty("eos_id").GetInt32());
        Assert.Equal(FlatInt(e.GetProperty("input_ids")), batch.Ids);
        Assert.Equal(e.GetProperty("prompt_lens").EnumerateArray().Select(x => x.GetInt32()).ToArray(), batch.PromptLengths);
        Assert.Equal(Flat(e.GetProperty("old_logp")), batch.OldLogProbs);
        Assert.Equal(Flat(e.GetProperty("mask")), batch.Mask);
        var adv = GroupAdvantages.Compute(Flat(c.GetProperty("rewards")), c.GetProperty("num_generations").GetInt32());
        Close(Flat(e.GetProperty("advantages")), adv, "advantages", 1e-5f, 1e-5f);
        int w = batch.Length - 1;
        var dlogp = new float[n * w];
        var res = PolicyLoss.Compute(Flat(c.GetProperty("logp")), batch.OldLogProbs, Flat(c.GetProperty("ref_logp")), batch.Mask,
            Flat(e.GetProperty("advantages")), n, w, Options(c), skipEmptyRows: true, scale: 1f, dlogp);
        Close(new[] { e.GetProperty("loss").GetSingle() }, new[] { res.Loss }, "loss");
        Close(Flat(e.GetProperty("dlogp")), dlogp, "d loss / d logp");
    }

    [Theory]
    [MemberData(nameof(PpoCases))]
    public void PpoUpdateEqualsMiniMinds(int index)
    {
        var c = Doc.RootElement.GetProperty("ppo")[index];
        var e = c.GetProperty("expected");
        var ids = c.GetProperty("completion_ids");
        int rows = ids.GetArrayLength(), width = ids[0].GetArrayLength();
        var o = new PpoOptions(c.GetProperty("clip_epsilon").GetDouble(), c.GetProperty("kl_coef").GetDouble(), c.GetProperty("vf_coef").GetDouble(),
            c.GetProperty("cliprange_value").GetDouble(), c.GetProperty("gamma").GetDouble(), c.GetProperty("lam").GetDouble(),
            c.GetProperty("early_stop_kl").GetDouble(), 2, c.GetProperty("mini_batch_size").GetInt32());
        var prep = PpoAdvantages.Compute(FlatInt(ids), default, rows, width, c.GetProperty("eos_id").GetInt32(), Flat(c.GetProperty("old_values")),
            Flat(c.GetProperty("rewards")), o);
        Assert.Equal(Flat(e.GetProperty("policy_mask")), prep.Mask);
        Assert.Equal(Flat(e.GetProperty("token_rewards")), prep.TokenRewards);
        Assert.Equal(Flat(e.GetProperty("old_values_masked")), prep.OldValues);
        Close(Flat(e.GetProperty("returns")), prep.Returns, "returns");
        Close(Flat(e.GetProperty("advantages")), prep.Advantages, "whitened advantages", 1e-5f, 1e-5f);
        var logp = Flat(c.GetProperty("logp"));
        var values = Flat(c.GetProperty("values"));
        var old = Flat(c.GetProperty("old_logp"));
        var reference = Flat(c.GetProperty("ref_logp"));
        // the minibatches in the order MiniMind's torch.randperm drew them; the replay's stop rule
        bool stop = false;
        foreach (var step in e.GetProperty("steps").EnumerateArray())
        {
            var sel = step.GetProperty("rows").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var mbLogp = sel.SelectMany(r => logp.Skip(r * width).Take(width)).ToArray();
            var mbValues = sel.SelectMany(r => values.Skip(r * width).Take(width)).ToArray();
            float kl = PpoLoss.ApproxKl(prep, sel, mbLogp, old);
            Close(new[] { step.GetProperty("approx_kl").GetSingle() }, new[] { kl }, "approx KL");
            stop |= kl > o.EarlyStopKl;
            Assert.Equal(step.GetProperty("stop").GetBoolean(), stop);
            var dl = new float[mbLogp.Length];
            var dv = new float[mbLogp.Length];
            var res = PpoLoss.Compute(prep, sel, mbLogp, mbValues, old, reference, o, stop ? 0f : 1f, dl, dv);
            Close(new[] { step.GetProperty("policy_loss").GetSingle(), step.GetProperty("value_loss").GetSingle(),
                    step.GetProperty("clipfrac").GetSingle(), step.GetProperty("kl_ref").GetSingle() },
                new[] { res.PolicyLoss, res.ValueLoss, res.ClipFraction, res.KlRef }, "policy/value loss, clip fraction, KL");
            Close(new[] { step.GetProperty("loss").GetSingle() }, new[] { stop ? 0f : res.Total(o) }, "loss");
            Close(Flat(step.GetProperty("dlogp")), dl, "d loss / d logp");
            Close(Flat(step.GetProperty("dvalues")), dv, "d loss / d values");
        }
    }
}

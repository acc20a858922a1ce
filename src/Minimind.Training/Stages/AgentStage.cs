using System.Globalization;
using Minimind.Model;
using Minimind.Training.Rl;
using Minimind.Training.Rl.Agent;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_agent.py</c> (agentic tool-use RL): a sample is an agent row (<see cref="AgentTaskSet"/>); a
/// micro-batch of B rows is one rollout batch of B × G multi-turn rollouts (<see cref="MultiTurnRollout"/>: up to 3
/// turns, the mock tools executed between them), scored by MiniMind's agent reward (<see cref="AgentReward"/>, plus the
/// reward model when one is given), packed as train_agent.py packs them (<see cref="AgentBatch"/>: observation tokens
/// and the prompt masked out, cut to the last <c>--max-total-len</c> tokens, right-padded) and trained with
/// <see cref="PolicyLoss"/> (GRPO or CISPO; rows without a counted token leave the mean) against the frozen reference.
/// The old log-probs are the rollout's own (the engine's log-probs of each sampled token in its turn's context), as
/// MiniMind takes them from its rollout engine.
/// </summary>
public sealed partial class AgentStage : RolloutStage<AgentRolloutBatch>
{
    private readonly AgentTaskSet _set;
    private readonly AgentOptions _o;
    private readonly RewardModelClient? _rewardModel;

    /// <summary>
    /// Trains <paramref name="policy"/> (its rows must hold <paramref name="maxRows"/> × G sequences of
    /// <see cref="AgentTaskSet.SeqLen"/> tokens) on <paramref name="set"/> against <paramref name="reference"/>;
    /// <paramref name="rewardModel"/> (or null) scores the completions that call no tool; <paramref name="referenceId"/>
    /// joins the signature; <paramref name="seed"/> seeds the rollout stream of a fresh run.
    /// </summary>
    public AgentStage(MiniMindModel policy, MiniMindModel reference, AgentTaskSet set, AgentOptions options, RewardModelClient? rewardModel,
        int maxRows, long seed, string referenceId)
        : base(policy, reference, set, Validated(options).Policy.Generations * maxRows, set.SeqLen, seed, $"{maxRows} rows x {options.Policy.Generations} generations")
    {
        _set = set; _o = options; _rewardModel = rewardModel;
        var l = options.Policy.Loss;
        Signature = new KeyValuePair<string, string>[]
        {
            new("stage", "agent"), new("loss_type", l.Type.ToString().ToLowerInvariant()), new("beta", F(l.Beta)), new("epsilon", F(l.Epsilon)),
            new("epsilon_high", F(l.EpsilonHigh)), new("num_generations", F(options.Policy.Generations)), new("max_gen_len", F(set.MaxGenLen)),
            new("max_turns", F(options.MaxTurns)), new("max_total_len", F(options.MaxTotalLen)), new("thinking_ratio", F(options.ThinkingRatio)),
            new("reward_model", rewardModel is null ? "none" : "url"), new("reference", referenceId),
        };
    }

    private static AgentOptions Validated(AgentOptions o) { o.Validate(); return o; }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string Name => "agent";
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }

    /// <inheritdoc/>
    protected override AgentRolloutBatch Rollout(int[] samples, ulong[] promptSeeds)
    {
        var trajectories = MultiTurnRollout.Run(Engine, _set, samples, _o, promptSeeds);
        return new AgentRolloutBatch(samples, trajectories, Score(trajectories));
    }

    // calculate_rewards: the reward model asked (batched) only for the completions that call no tool.
    private AgentRewardParts[] Score(AgentTrajectory[] t)
    {
        double?[] scores = new double?[t.Length];
        if (_rewardModel is not null)
        {
            var asked = new List<(int Index, RewardRequest Request)>();
            for (int i = 0; i < t.Length; i++)
            {
                var (needed, answer) = AgentReward.RewardModelRequest(t[i].Turns, t[i].Response);
                if (needed) asked.Add((i, new RewardRequest(RewardModelClient.PromptMessages(_set.PromptTexts[t[i].Task]), answer)));
            }
            var got = asked.Count > 0 ? _rewardModel.Score(asked.Select(a => a.Request).ToList()) : Array.Empty<double>();
            for (int k = 0; k < asked.Count; k++) scores[asked[k].Index] = got[k];
        }
        return t.Select((x, i) =>
        {
            var task = _set.Tasks[x.Task];
            return AgentReward.Score(x.Turns, x.Response, task.ToolNames, task.Gt, x.Unfinished, scores[i]);
        }).ToArray();
    }

    /// <summary>
    /// One update on a given rollout batch (what <see cref="RolloutStage{T}.ForwardBackward"/> does after rolling out): the
    /// loss (+ MoE aux) and, into the policy's gradients, its gradient times <paramref name="lossScale"/>. For replays and tests.
    /// </summary>
    public (float Loss, PolicyLossResult Result) Train(AgentRolloutBatch rollout, float lossScale) => Update(rollout, lossScale, backward: true);

    /// <inheritdoc/>
    protected override (float Loss, PolicyLossResult Result) Update(AgentRolloutBatch rollout, float lossScale, bool backward)
    {
        var packed = AgentBatch.Pack(rollout.Trajectories.Select(t => t.Sequence).ToList(), _o.MaxTotalLen, _set.Format.Tokenizer.PadId, _set.Format.StopId);
        int rows = packed.Rows, len = packed.Length, w = len - 1;
        // The whole packed row goes through the model, as MiniMind's forward (its MoE aux loss counts every position);
        // position t < len − 1 predicts token t + 1.
        var targets = new int[rows * len];
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < len; t++)
                targets[r * len + t] = t < w ? packed.Ids[r * len + t + 1] : Batch.IgnoreIndex;
        var batch = new Batch(rows, len, packed.Ids, targets);
        var (full, refFull, aux) = TokenLogProbs(batch);
        var (logp, refLogp) = (new float[rows * w], new float[rows * w]);
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(full, r * len, logp, r * w, w);
            Array.Copy(refFull, r * len, refLogp, r * w, w);
        }
        var advantages = GroupAdvantages.Compute(rollout.Rewards.Select(x => x.Total).ToArray(), _o.Policy.Generations);
        var dLogp = new float[rows * w];
        var result = PolicyLoss.Compute(logp, packed.OldLogProbs, refLogp, packed.Mask, advantages, rows, w, _o.Policy.Loss, skipEmptyRows: true, lossScale, dLogp);
        if (backward)
        {
            var dFull = new float[rows * len];
            for (int r = 0; r < rows; r++) Array.Copy(dLogp, r * w, dFull, r * len, w);
            PolicyBackward(batch, dFull, lossScale);
        }
        return (result.Loss + aux, result);
    }

    /// <inheritdoc/>
    protected override IEnumerable<float> Rewards(AgentRolloutBatch rollout) => rollout.Rewards.Select(x => x.Total);

    /// <inheritdoc/>
    protected override long Generated(AgentRolloutBatch rollout) => rollout.Trajectories.Sum(t => (long)t.Generated);
}

/// <summary>One rollout batch of an agent micro-batch: the rows (data indices), every rollout and its reward, and the loss it gave.</summary>
public sealed record AgentRolloutBatch(int[] Samples, AgentTrajectory[] Trajectories, AgentRewardParts[] Rewards)
{
    /// <summary>The micro-batch's loss (policy + aux), once trained.</summary>
    public float Loss { get; init; }
}

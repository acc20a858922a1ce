using System.Globalization;
using Minimind.Model;
using Minimind.Model.Data.Rl;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;
using Minimind.Training.Checkpointing;
using Minimind.Training.Rl;
using Minimind.Training.Rl.Logging;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_grpo.py</c> (GRPO and CISPO): a sample is a prompt; a micro-batch of B prompts is one rollout
/// batch of B × G completions sampled by the <see cref="RolloutEngine"/> from the current weights, scored
/// (<see cref="GrpoRewards"/>), turned into group advantages, and trained with <see cref="PolicyLoss"/> against the
/// frozen reference — one rollout batch per micro-batch as the script (its optimizer steps every
/// --accumulation-steps batches).
/// <para>
/// MiniMind left-pads the B prompts to the longest (P tokens) and counts the pads in the RoPE positions while masking
/// them as keys. Here each row holds its prompt unpadded and starts its positions at P − its length
/// (<see cref="Batch.PositionOffsets"/>), which gives the same logits; completions past their eos are filled with eos as
/// its generate() does (masked out). The old log-probs are MiniMind's second no-grad forward of the same weights; with
/// deterministic kernels that forward equals the policy's own, so it is taken from it (ρ = 1 exactly).
/// </para>
/// The rollouts draw from <see cref="RolloutRng"/>, which every checkpoint stores: a resumed run samples what the
/// uninterrupted one did. The reference model's file hash is in the <see cref="Signature"/>.
/// </summary>
public sealed class GrpoStage : RolloutStage<GrpoRolloutBatch>, IRolloutSource
{
    private readonly List<GrpoRolloutBatch> _kept = new();
    private GrpoRolloutBatch? _updated; // the last Update's batch with what the loss used (Trained keeps it)
    private readonly ITokenizer _tokenizer;
    private readonly GrpoOptions _o;
    private readonly int _eos;
    private readonly PromptRollouts _rollouts;

    /// <summary>
    /// Trains <paramref name="policy"/> (its rows must hold <paramref name="maxPrompts"/> × G sequences of the prompts'
    /// <see cref="RlPromptSet.SeqLen"/>) on <paramref name="prompts"/> against the frozen <paramref name="reference"/>
    /// (same shapes), stopping completions at <paramref name="eosId"/>. <paramref name="referenceId"/> (its file's hash)
    /// joins the signature; <paramref name="seed"/> seeds the rollout stream of a fresh run.
    /// </summary>
    public GrpoStage(MiniMindModel policy, MiniMindModel reference, RlPromptSet prompts, GrpoOptions options, GrpoRewards rewards,
        ITokenizer tokenizer, int eosId, int maxPrompts, long seed, string referenceId)
        : base(policy, reference, prompts, Validated(options).Generations * maxPrompts, prompts.SeqLen, seed,
            $"{maxPrompts} prompts x {options.Generations} generations")
    {
        _o = options; _eos = eosId; _tokenizer = tokenizer;
        _rollouts = new PromptRollouts(Engine, prompts, options.Sampling, rewards, tokenizer, eosId);
        var l = options.Loss;
        Signature = new KeyValuePair<string, string>[]
        {
            new("stage", "grpo"), new("loss_type", l.Type.ToString().ToLowerInvariant()), new("beta", F(l.Beta)), new("epsilon", F(l.Epsilon)),
            new("epsilon_high", F(l.EpsilonHigh)), new("num_generations", F(options.Generations)), new("max_gen_len", F(prompts.MaxGenLen)),
            new("reference", referenceId),
        };
    }

    private static GrpoOptions Validated(GrpoOptions o) { o.Validate(); return o; }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string Name => "grpo";
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }

    // B prompts x G samples through the engine: sequence b·G + g forks prompt b's prefill and draws from its own stream.
    /// <inheritdoc/>
    protected override GrpoRolloutBatch Rollout(int[] samples, ulong[] promptSeeds) => _rollouts.Sample(samples, promptSeeds, _o.Generations);

    /// <inheritdoc/>
    protected override (float Loss, PolicyLossResult Result) Update(GrpoRolloutBatch rollout, float lossScale, bool backward)
    {
        var seqs = RolloutSequences.Of(rollout, _o.Generations, _eos);
        int rows = seqs.Rows, r = seqs.Width;
        var batch = seqs.Batch;
        var (lpFull, refFull, aux) = TokenLogProbs(batch);
        var logp = seqs.Responses(lpFull);
        var refLogp = seqs.Responses(refFull);
        var mask = CompletionMask.UpToFirstEos(seqs.CompletionIds, ReadOnlySpan<float>.Empty, rows, r, _eos);
        var advantages = GroupAdvantages.Compute(rollout.Rewards.Select(x => x.Total).ToArray(), _o.Generations);
        var dLogp = new float[rows * r];
        var result = PolicyLoss.Compute(logp, logp, refLogp, mask, advantages, rows, r, _o.Loss, skipEmptyRows: false, lossScale, dLogp);
        if (backward) PolicyBackward(batch, seqs.Spread(dLogp), lossScale);
        _updated = rollout with { Width = r, OldLogProbs = logp, Mask = mask, Advantages = advantages };
        return (result.Loss + aux, result);
    }

    /// <inheritdoc/>
    protected override IEnumerable<float> Rewards(GrpoRolloutBatch rollout) => rollout.Rewards.Select(x => x.Total);

    /// <inheritdoc/>
    protected override long Generated(GrpoRolloutBatch rollout) => rollout.Completions.Sum(c => (long)c.Length);

    /// <inheritdoc/>
    protected override GrpoRolloutBatch Trained(GrpoRolloutBatch rollout, float loss)
    {
        var trained = (ReferenceEquals(_updated?.Completions, rollout.Completions) ? _updated! : rollout) with { Loss = loss };
        if (KeepRollouts) _kept.Add(trained);
        return trained;
    }

    /// <inheritdoc/>
    public bool KeepRollouts { get; set; }

    /// <inheritdoc/>
    public RolloutConsoleForm ConsoleForm => RolloutConsoleForm.Grpo;

    /// <inheritdoc/>
    public IReadOnlyList<RolloutBatchRecord> TakeStepRollouts()
    {
        var records = _kept.Select(b => b.ToRecord(_tokenizer)).ToList();
        _kept.Clear();
        return records;
    }
}

/// <summary>
/// One rollout batch of a GRPO micro-batch: the prompts (data indices and prompts), the left-pad width P they share,
/// each completion's sampled ids (its eos included when it stopped there), decoded text and reward, and the loss it gave.
/// </summary>
public sealed record GrpoRolloutBatch(int[] Samples, RlPrompt[] Prompts, int PromptWidth, int[][] Completions, string[] Texts, RewardParts[] Rewards)
{
    /// <summary>The micro-batch's loss (policy + aux), once trained.</summary>
    public float Loss { get; init; }
    /// <summary>R, the longest completion: the row width of <see cref="OldLogProbs"/> and <see cref="Mask"/>.</summary>
    public int Width { get; init; }
    /// <summary>The old per-token log-probs [rows × R] (the policy's own, ρ = 1), once trained.</summary>
    public float[] OldLogProbs { get; init; } = Array.Empty<float>();
    /// <summary>The completion mask [rows × R], once trained.</summary>
    public float[] Mask { get; init; } = Array.Empty<float>();
    /// <summary>The group advantages [rows], once trained (empty for PPO, whose advantages are per token).</summary>
    public float[] Advantages { get; init; } = Array.Empty<float>();

    /// <summary>The rollout log's record of this batch (prompts decoded with <paramref name="tokenizer"/>, specials kept).</summary>
    public RolloutBatchRecord ToRecord(ITokenizer tokenizer)
    {
        int g = Completions.Length / Prompts.Length, w = Width;
        return new RolloutBatchRecord(Loss, Prompts.Select((p, b) => new RolloutPromptRecord(Samples[b], p.Ids, tokenizer.Decode(p.Ids, skipSpecialTokens: false),
            Enumerable.Range(b * g, g).Select(row =>
            {
                int n = Completions[row].Length;
                return new RolloutCompletionRecord(Completions[row], Texts[row], Mask.AsSpan(row * w, n).ToArray(), Rewards[row].Total, Rewards[row].Named(),
                    OldLogProbs.AsSpan(row * w, n).ToArray()) { Advantage = Advantages.Length > 0 ? Advantages[row] : null };
            }).ToList())).ToList());
    }
}

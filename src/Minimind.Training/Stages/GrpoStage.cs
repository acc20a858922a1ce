using System.Globalization;
using Minimind.Model;
using Minimind.Model.Data.Rl;
using Minimind.Model.Generation;
using Minimind.Model.Tokenizer;
using Minimind.Training.Checkpointing;
using Minimind.Training.Rl;

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
public sealed class GrpoStage : RolloutStage<GrpoRolloutBatch>
{
    private readonly RlPromptSet _prompts;
    private readonly GrpoOptions _o;
    private readonly GrpoRewards _rewards;
    private readonly ITokenizer _tokenizer;
    private readonly int _eos;

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
        _prompts = prompts; _o = options; _rewards = rewards;
        _tokenizer = tokenizer; _eos = eosId;
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
    protected override GrpoRolloutBatch Rollout(int[] samples, ulong batchSeed)
    {
        int b = samples.Length, g = _o.Generations;
        var prompts = samples.Select(i => _prompts.Prompts[i]).ToArray();
        int width = prompts.Max(p => p.Ids.Length);
        var ids = new int[b * g];
        var stop = new[] { _eos };
        for (int i = 0; i < b; i++)
        {
            Sampler SamplerOf(int k) => new(_o.Sampling, RolloutRng.SeedOf(batchSeed, k));
            ids[i * g] = Engine.Add(new GenerationRequest
            {
                Prompt = prompts[i].Ids, Sampler = SamplerOf(i * g), MaxNewTokens = _prompts.MaxGenLen, StopIds = stop,
                PositionOffset = width - prompts[i].Ids.Length,
            });
            for (int k = 1; k < g; k++) ids[i * g + k] = Engine.Fork(ids[i * g], SamplerOf(i * g + k));
        }
        Engine.RunAll();
        var completions = new int[b * g][];
        for (int r = 0; r < ids.Length; r++)
        {
            completions[r] = Engine[ids[r]].Completion.ToArray();
            Engine.Release(ids[r]);
        }
        var texts = completions.Select(c => _tokenizer.Decode(c, skipSpecialTokens: true)).ToArray();
        var rewards = _rewards.Score(prompts, texts, g);
        return new GrpoRolloutBatch(samples, prompts, width, completions, texts, rewards);
    }

    /// <inheritdoc/>
    protected override (float Loss, PolicyLossResult Result) Update(GrpoRolloutBatch rollout, float lossScale, bool backward)
    {
        int rows = rollout.Completions.Length, g = _o.Generations, p = rollout.PromptWidth;
        int r = rollout.Completions.Max(c => c.Length);
        int t = p + r - 1;
        var inputs = new int[rows * t];
        var targets = new int[rows * t];
        var offsets = new int[rows];
        var compIds = new int[rows * r];
        for (int row = 0; row < rows; row++)
        {
            var prompt = rollout.Prompts[row / g].Ids;
            var comp = rollout.Completions[row];
            int len = prompt.Length;
            offsets[row] = p - len;
            // prompt + completion, eos-filled to r (generate()'s finished rows), then pads past the row's end
            var full = new int[p + r];
            prompt.CopyTo(full, 0);
            for (int j = 0; j < r; j++) full[len + j] = compIds[row * r + j] = j < comp.Length ? comp[j] : _eos;
            for (int j = len + r; j < full.Length; j++) full[j] = _eos;
            for (int j = 0; j < t; j++)
            {
                inputs[row * t + j] = full[j];
                targets[row * t + j] = j >= len - 1 && j < len - 1 + r ? full[j + 1] : Batch.IgnoreIndex;
            }
        }
        var batch = new Batch(rows, t, inputs, targets, positionOffsets: offsets);
        var (lpFull, refFull, aux) = TokenLogProbs(batch);
        var logp = new float[rows * r];
        var refLogp = new float[rows * r];
        for (int row = 0; row < rows; row++)
        {
            int start = row * t + rollout.Prompts[row / g].Ids.Length - 1;
            Array.Copy(lpFull, start, logp, row * r, r);
            Array.Copy(refFull, start, refLogp, row * r, r);
        }
        var mask = CompletionMask.UpToFirstEos(compIds, ReadOnlySpan<float>.Empty, rows, r, _eos);
        var advantages = GroupAdvantages.Compute(rollout.Rewards.Select(x => x.Total).ToArray(), g);
        var dLogp = new float[rows * r];
        var result = PolicyLoss.Compute(logp, logp, refLogp, mask, advantages, rows, r, _o.Loss, skipEmptyRows: false, lossScale, dLogp);
        if (backward)
        {
            var dFull = new float[rows * t];
            for (int row = 0; row < rows; row++)
                Array.Copy(dLogp, row * r, dFull, row * t + rollout.Prompts[row / g].Ids.Length - 1, r);
            PolicyBackward(batch, dFull, lossScale);
        }
        return (result.Loss + aux, result);
    }

    /// <inheritdoc/>
    protected override IEnumerable<float> Rewards(GrpoRolloutBatch rollout) => rollout.Rewards.Select(x => x.Total);

    /// <inheritdoc/>
    protected override long Generated(GrpoRolloutBatch rollout) => rollout.Completions.Sum(c => (long)c.Length);

    /// <inheritdoc/>
    protected override GrpoRolloutBatch Trained(GrpoRolloutBatch rollout, float loss) => rollout with { Loss = loss };
}

/// <summary>
/// One rollout batch of a GRPO micro-batch: the prompts (data indices and prompts), the left-pad width P they share,
/// each completion's sampled ids (its eos included when it stopped there), decoded text and reward, and the loss it gave.
/// </summary>
public sealed record GrpoRolloutBatch(int[] Samples, RlPrompt[] Prompts, int PromptWidth, int[][] Completions, string[] Texts, RewardParts[] Rewards)
{
    /// <summary>The micro-batch's loss (policy + aux), once trained.</summary>
    public float Loss { get; init; }
}

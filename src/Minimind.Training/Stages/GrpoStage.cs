using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
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
public sealed class GrpoStage : ModelStage, ITrainingStage, IStepMetricsSource, IDisposable
{
    private readonly MiniMindModel _policy, _reference;
    private readonly GrpoOptions _o;
    private readonly int _eos;
    private readonly PromptRollouts _rollouts;
    private readonly RolloutRng _rng;
    private readonly ConditionalWeakTable<Batch, int[]> _samplesOf = new();
    private StepTally _tally = new();

    /// <summary>
    /// Trains <paramref name="policy"/> (its rows must hold <paramref name="maxPrompts"/> × G sequences of the prompts'
    /// <see cref="RlPromptSet.SeqLen"/>) on <paramref name="prompts"/> against the frozen <paramref name="reference"/>
    /// (same shapes), stopping completions at <paramref name="eosId"/>. <paramref name="referenceId"/> (its file's hash)
    /// joins the signature; <paramref name="seed"/> seeds the rollout stream of a fresh run.
    /// </summary>
    public GrpoStage(MiniMindModel policy, MiniMindModel reference, RlPromptSet prompts, GrpoOptions options, GrpoRewards rewards,
        ITokenizer tokenizer, int eosId, int maxPrompts, long seed, string referenceId)
        : base(policy, prompts)
    {
        options.Validate();
        int sequences = checked(maxPrompts * options.Generations);
        if (policy.MaxBatch < sequences || reference.MaxBatch < sequences)
            throw new ArgumentException($"the models hold {Math.Min(policy.MaxBatch, reference.MaxBatch)} rows; a rollout batch has {sequences} ({maxPrompts} prompts x {options.Generations} generations)");
        _policy = policy; _reference = reference; _o = options; _eos = eosId;
        _rollouts = new PromptRollouts(policy, prompts, options.Sampling, rewards, tokenizer, eosId, sequences);
        _rng = new RolloutRng(seed);
        var l = options.Loss;
        Signature = new KeyValuePair<string, string>[]
        {
            new("stage", "grpo"), new("loss_type", l.Type.ToString().ToLowerInvariant()), new("beta", F(l.Beta)), new("epsilon", F(l.Epsilon)),
            new("epsilon_high", F(l.EpsilonHigh)), new("num_generations", F(options.Generations)), new("max_gen_len", F(prompts.MaxGenLen)),
            new("reference", referenceId),
        };
    }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string Name => "grpo";
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }
    /// <inheritdoc/>
    public IReadOnlyList<ICheckpointState> CheckpointStates => new ICheckpointState[] { _rng };

    /// <summary>The rollout batch the last <see cref="ForwardBackward"/> trained on (the rollout log reads it).</summary>
    public GrpoRolloutBatch? LastRollout { get; private set; }

    /// <inheritdoc/>
    public override Batch CreateBatch(ReadOnlySpan<int> samples)
    {
        var batch = StageBatches.Rows(Data, samples);
        _samplesOf.Add(batch, samples.ToArray());
        return batch;
    }

    /// <inheritdoc/>
    public override float ForwardBackward(Batch batch, float lossScale)
    {
        var clock = Stopwatch.StartNew();
        var rollout = Rollout(SamplesOf(batch), _rng.Take());
        double rolloutSeconds = clock.Elapsed.TotalSeconds;
        var (loss, result) = Update(rollout, lossScale, backward: true);
        _tally.Add(rollout, result, rolloutSeconds, clock.Elapsed.TotalSeconds - rolloutSeconds);
        LastRollout = rollout with { Loss = loss };
        return loss;
    }

    /// <inheritdoc/>
    /// <remarks>Samples the rollouts the next step will (the stream is peeked, not advanced): the resume check's loss.</remarks>
    public override float ForwardLoss(Batch batch) => Update(Rollout(SamplesOf(batch), _rng.Peek()), 0f, backward: false).Loss;

    private int[] SamplesOf(Batch batch) =>
        _samplesOf.TryGetValue(batch, out var s) ? s : throw new ArgumentException("a GRPO batch must come from this stage's CreateBatch (it carries prompt indices)");

    private GrpoRolloutBatch Rollout(int[] samples, ulong batchSeed) => _rollouts.Sample(samples, batchSeed, _o.Generations);

    // The policy loss of a rollout batch (and its gradient, scaled by lossScale, when backward).
    private (float Loss, PolicyLossResult Result) Update(GrpoRolloutBatch rollout, float lossScale, bool backward)
    {
        var seqs = RolloutSequences.Of(rollout, _o.Generations, _eos);
        int rows = seqs.Rows, r = seqs.Width;
        var batch = seqs.Batch;
        var (refFull, _) = _reference.TokenLogProbs(batch);
        var (lpFull, aux) = _policy.TokenLogProbs(batch);
        var logp = seqs.Responses(lpFull);
        var refLogp = seqs.Responses(refFull);
        var mask = CompletionMask.UpToFirstEos(seqs.CompletionIds, ReadOnlySpan<float>.Empty, rows, r, _eos);
        var advantages = GroupAdvantages.Compute(rollout.Rewards.Select(x => x.Total).ToArray(), _o.Generations);
        var dLogp = new float[rows * r];
        var result = PolicyLoss.Compute(logp, logp, refLogp, mask, advantages, rows, r, _o.Loss, skipEmptyRows: false, lossScale, dLogp);
        if (backward) _policy.TokenLogProbsBackward(batch, seqs.Spread(dLogp), lossScale);
        return (result.Loss + aux, result);
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ConsoleMetrics { get; } = new[] { "reward", "kl_ref" };

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, double>> TakeStepMetrics()
    {
        var t = _tally;
        _tally = new StepTally();
        return t.Metrics();
    }

    /// <inheritdoc/>
    public void Dispose() => _rollouts.Dispose();

    // A step's numbers over its rollout batches: rewards over every completion, token-weighted KL and clip fraction.
    private sealed class StepTally
    {
        private readonly List<float> _rewards = new();
        private double _kl, _clip, _tokens, _rolloutSeconds, _updateSeconds;
        private long _generated;

        public void Add(GrpoRolloutBatch rollout, PolicyLossResult loss, double rolloutSeconds, double updateSeconds)
        {
            _rewards.AddRange(rollout.Rewards.Select(x => x.Total));
            _kl += (double)loss.KlLogged * loss.Tokens;
            _clip += (double)loss.ClipFraction * loss.Tokens;
            _tokens += loss.Tokens;
            _generated += rollout.Completions.Sum(c => (long)c.Length);
            _rolloutSeconds += rolloutSeconds; _updateSeconds += updateSeconds;
        }

        public IReadOnlyList<KeyValuePair<string, double>> Metrics()
        {
            if (_rewards.Count == 0) return Array.Empty<KeyValuePair<string, double>>();
            double mean = _rewards.Average(x => (double)x);
            double std = Math.Sqrt(_rewards.Average(x => (x - mean) * (x - mean)));
            double tokens = Math.Max(_tokens, 1);
            return new KeyValuePair<string, double>[]
            {
                new("reward", mean), new("reward_std", std), new("kl_ref", _kl / tokens), new("clip_fraction", _clip / tokens),
                new("completion_len", _tokens / _rewards.Count), new("rollout_tokens_per_s", _generated / Math.Max(_rolloutSeconds, 1e-9)),
                new("rollout_share", _rolloutSeconds / Math.Max(_rolloutSeconds + _updateSeconds, 1e-9)),
            };
        }
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
}

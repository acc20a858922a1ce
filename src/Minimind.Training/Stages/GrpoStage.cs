using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
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
public sealed class GrpoStage : ModelStage, ITrainingStage, IStepMetricsSource, IRolloutSource, IDisposable
{
    private readonly MiniMindModel _policy, _reference;
    private readonly RlPromptSet _prompts;
    private readonly GrpoOptions _o;
    private readonly GrpoRewards _rewards;
    private readonly ITokenizer _tokenizer;
    private readonly int _eos;
    private readonly RolloutEngine _engine;
    private readonly RolloutRng _rng;
    private readonly ConditionalWeakTable<Batch, int[]> _samplesOf = new();
    private StepTally _tally = new();
    private readonly List<GrpoRolloutBatch> _kept = new();

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
        _policy = policy; _reference = reference; _prompts = prompts; _o = options; _rewards = rewards;
        _tokenizer = tokenizer; _eos = eosId;
        _engine = new RolloutEngine(policy, new RolloutEngineOptions { MaxSequences = sequences, Context = prompts.SeqLen });
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
        var (loss, result, trained) = Update(rollout, lossScale, backward: true);
        _tally.Add(rollout, result, rolloutSeconds, clock.Elapsed.TotalSeconds - rolloutSeconds);
        LastRollout = trained;
        if (KeepRollouts) _kept.Add(trained);
        return loss;
    }

    /// <inheritdoc/>
    /// <remarks>Samples the rollouts the next step will (the stream is peeked, not advanced): the resume check's loss.</remarks>
    public override float ForwardLoss(Batch batch) => Update(Rollout(SamplesOf(batch), _rng.Peek()), 0f, backward: false).Loss;

    private int[] SamplesOf(Batch batch) =>
        _samplesOf.TryGetValue(batch, out var s) ? s : throw new ArgumentException("a GRPO batch must come from this stage's CreateBatch (it carries prompt indices)");

    // B prompts x G samples through the engine: sequence b·G + g forks prompt b's prefill and draws from its own stream.
    private GrpoRolloutBatch Rollout(int[] samples, ulong batchSeed)
    {
        int b = samples.Length, g = _o.Generations;
        var prompts = samples.Select(i => _prompts.Prompts[i]).ToArray();
        int width = prompts.Max(p => p.Ids.Length);
        var ids = new int[b * g];
        var stop = new[] { _eos };
        for (int i = 0; i < b; i++)
        {
            Sampler SamplerOf(int k) => new(_o.Sampling, RolloutRng.SeedOf(batchSeed, k));
            ids[i * g] = _engine.Add(new GenerationRequest
            {
                Prompt = prompts[i].Ids, Sampler = SamplerOf(i * g), MaxNewTokens = _prompts.MaxGenLen, StopIds = stop,
                PositionOffset = width - prompts[i].Ids.Length,
            });
            for (int k = 1; k < g; k++) ids[i * g + k] = _engine.Fork(ids[i * g], SamplerOf(i * g + k));
        }
        _engine.RunAll();
        var completions = new int[b * g][];
        for (int r = 0; r < ids.Length; r++)
        {
            completions[r] = _engine[ids[r]].Completion.ToArray();
            _engine.Release(ids[r]);
        }
        var texts = completions.Select(c => _tokenizer.Decode(c, skipSpecialTokens: true)).ToArray();
        var rewards = _rewards.Score(prompts, texts, g);
        return new GrpoRolloutBatch(samples, prompts, width, completions, texts, rewards);
    }

    // The policy loss of a rollout batch (and its gradient, scaled by lossScale, when backward); the batch with what the loss used.
    private (float Loss, PolicyLossResult Result, GrpoRolloutBatch Trained) Update(GrpoRolloutBatch rollout, float lossScale, bool backward)
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
        var (refFull, _) = _reference.TokenLogProbs(batch);
        var (lpFull, aux) = _policy.TokenLogProbs(batch);
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
            _policy.TokenLogProbsBackward(batch, dFull, lossScale);
        }
        float total = result.Loss + aux;
        return (total, result, rollout with { Loss = total, Width = r, OldLogProbs = logp, Mask = mask, Advantages = advantages });
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
    public void Dispose() => _engine.Dispose();

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
    /// <summary>R, the longest completion: the row width of <see cref="OldLogProbs"/> and <see cref="Mask"/>.</summary>
    public int Width { get; init; }
    /// <summary>The old per-token log-probs [rows × R] (the policy's own, ρ = 1), once trained.</summary>
    public float[] OldLogProbs { get; init; } = Array.Empty<float>();
    /// <summary>The completion mask [rows × R], once trained.</summary>
    public float[] Mask { get; init; } = Array.Empty<float>();
    /// <summary>The group advantages [rows], once trained.</summary>
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
                    OldLogProbs.AsSpan(row * w, n).ToArray()) { Advantage = Advantages[row] };
            }).ToList())).ToList());
    }
}

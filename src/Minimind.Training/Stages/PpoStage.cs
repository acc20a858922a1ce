using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data.Rl;
using Minimind.Model.Tokenizer;
using Minimind.Training.Checkpointing;
using Minimind.Training.Rl;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_ppo.py</c>: a loop step is one rollout batch — B prompts, one completion each sampled by the
/// <see cref="PromptRollouts"/> from the actor, scored by <see cref="GrpoRewards"/> — then its update: the old log-probs
/// (the actor's own forward), the critic's old values, the frozen reference's log-probs, GAE and whitened advantages
/// (<see cref="PpoAdvantages"/>), and --ppo-update-iters epochs over minibatches of --mini-batch-size rows in a fresh
/// random order each, every minibatch one optimizer step of both the actor (the trained buffer) and the critic
/// (<see cref="PpoLoss"/>: clipped policy + kl_coef·k3, clipped value loss; + MoE aux), each clipped to --grad-clip
/// separately and stepped on its own CosineAnnealingLR to lr/10 over ⌈steps · iters · ⌈B / mini⌉⌉ optimizer steps.
/// MiniMind's KL early stop: once a minibatch's approximate KL passes --early-stop-kl, the rest of that epoch
/// back-propagates the loss × 0 (both optimizers and schedules still step) and the next epochs are skipped.
/// <para>
/// Differences from MiniMind, by necessity: the minibatch order is drawn from the rollout stream
/// (<see cref="DataOrder.Permutation"/> seeded by the batch's <see cref="RolloutRng"/> value and the PPO epoch), not
/// torch.randperm; a minibatch update whose loss or gradient is not finite is skipped for both networks (the divergence
/// guard). Left pads as in <see cref="RolloutSequences"/>.
/// </para>
/// Everything a resumed run needs is in the step folder: the actor and its AdamW (the trained model's files), the
/// critic and its AdamW with its step (<c>critic_*</c>), the rollout stream (<c>rollout_rng.bin</c>); the reference
/// is reloaded from its file, whose hash is in the <see cref="Signature"/>. Every save also writes the critic's
/// weights beside the actor's (<see cref="Exports"/>: <c>ppo_critic_&lt;dim&gt;.pth</c>).
/// </summary>
public sealed partial class PpoStage : ModelStage, ITrainingStage, IOptimizingStage, IStepMetricsSource, IDisposable
{
    /// <summary>The critic's component name in a step folder (files <c>critic_model.f32</c>, ...).</summary>
    public const string CriticName = "critic";

    private readonly MiniMindModel _actor, _critic, _reference;
    private readonly PpoOptions _o;
    private readonly int _eos;
    private readonly double _actorLr;
    private readonly PromptRollouts _rollouts;
    private readonly RolloutRng _rng;
    private readonly AdamWState _criticAdam;
    private readonly OptimizedParameters _criticUpdate;
    private readonly TrainedParametersState _criticState;
    private readonly ComponentWeightsExport _criticExport;
    private readonly ConditionalWeakTable<Batch, int[]> _samplesOf = new();
    private StepTally _tally = new();

    /// <summary>
    /// Trains <paramref name="actor"/> and <paramref name="critic"/> (a <see cref="MiniMindModel.CreateCritic"/> model; both,
    /// and the frozen <paramref name="reference"/>, hold <paramref name="maxPrompts"/> rows of the prompts' <see cref="RlPromptSet.SeqLen"/>)
    /// on <paramref name="prompts"/>, stopping completions at <paramref name="eosId"/>. <paramref name="train"/> gives the
    /// actor's learning rate, the clip and the weight decay the critic shares, and the save dtype of the critic's file
    /// <paramref name="criticPath"/>; <paramref name="referenceId"/> (its file's hash) joins the signature;
    /// <paramref name="seed"/> seeds the rollout stream of a fresh run.
    /// </summary>
    public PpoStage(MiniMindModel actor, MiniMindModel critic, MiniMindModel reference, RlPromptSet prompts, PpoOptions options, GrpoRewards rewards,
        ITokenizer tokenizer, int eosId, int maxPrompts, long seed, string referenceId, TrainOptions train, string criticPath)
        : base(actor, prompts)
    {
        options.Validate();
        if (!critic.IsCritic) throw new ArgumentException("the PPO critic must be a model with a value head (MiniMindModel.CreateCritic)", nameof(critic));
        int rows = Math.Min(Math.Min(actor.MaxBatch, critic.MaxBatch), reference.MaxBatch);
        if (rows < maxPrompts)
            throw new ArgumentException($"the models hold {rows} rows; a rollout batch has {maxPrompts} (one completion per prompt)");
        _actor = actor; _critic = critic; _reference = reference; _o = options; _eos = eosId; _actorLr = train.LearningRate; _tokenizer = tokenizer;
        _rollouts = new PromptRollouts(actor, prompts, options.Sampling, rewards, tokenizer, eosId, maxPrompts);
        _rng = new RolloutRng(seed);
        _criticAdam = new AdamWState(critic.Backend, critic.Parameters.TotalElements) { WeightDecay = train.WeightDecay };
        _criticUpdate = new OptimizedParameters(critic.Backend, critic.Weights, critic.Gradients, _criticAdam, train.GradClip);
        _criticUpdate.ZeroGrad();
        _criticState = new TrainedParametersState(critic.Backend, critic.Parameters, critic.Weights, _criticAdam, CriticName);
        _criticExport = new ComponentWeightsExport(criticPath, CriticName, critic.Config, train, critic.Parameters.TotalElements);
        Signature = new KeyValuePair<string, string>[]
        {
            new("stage", "ppo"), new("clip_epsilon", F(options.ClipEpsilon)), new("kl_coef", F(options.KlCoef)), new("vf_coef", F(options.VfCoef)),
            new("cliprange_value", F(options.ClipRangeValue)), new("gamma", F(options.Gamma)), new("lam", F(options.Lambda)),
            new("early_stop_kl", F(options.EarlyStopKl)), new("ppo_update_iters", F(options.UpdateEpochs)), new("mini_batch_size", F(options.MiniBatchSize)),
            new("critic_learning_rate", F(options.CriticLearningRate)), new("max_gen_len", F(prompts.MaxGenLen)), new("reference", referenceId),
        };
    }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string Name => "ppo";
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }
    /// <inheritdoc/>
    public IReadOnlyList<ICheckpointState> CheckpointStates => new ICheckpointState[] { _rng, _criticState };
    /// <inheritdoc/>
    public IReadOnlyList<ICheckpointExport> Exports => new ICheckpointExport[] { _criticExport };
    /// <summary>The critic's <c>.pth</c>, written at every save.</summary>
    public string CriticPath => _criticExport.Path;

    /// <inheritdoc/>
    public override Batch CreateBatch(ReadOnlySpan<int> samples)
    {
        var batch = StageBatches.Rows(Data, samples);
        _samplesOf.Add(batch, samples.ToArray());
        return batch;
    }

    private int[] SamplesOf(Batch batch) =>
        _samplesOf.TryGetValue(batch, out var s) ? s : throw new ArgumentException("a PPO batch must come from this stage's CreateBatch (it carries prompt indices)");

    /// <inheritdoc/>
    /// <remarks>PPO steps its optimizers inside a step (<see cref="TrainStep"/>); there is no single gradient to return.</remarks>
    public override float ForwardBackward(Batch batch, float lossScale) =>
        throw new NotSupportedException("--stage ppo takes its own optimizer steps inside a loop step (IOptimizingStage.TrainStep), not one gradient per batch");

    /// <inheritdoc/>
    /// <remarks>The resume check's value: samples the rollouts the next step will (the stream is peeked, not advanced) and
    /// returns the loss of all its rows as one minibatch under the current actor and critic.</remarks>
    public override float ForwardLoss(Batch batch)
    {
        var prep = Prepare(_rollouts.Sample(SamplesOf(batch), _rng.Peek(), 1));
        return Minibatch(prep, Enumerable.Range(0, prep.Sequences.Rows).ToArray(), stopped: false, backward: false).Loss;
    }

    /// <inheritdoc/>
    public StepResult TrainStep(Batch batch, OptimizedParameters trained, long totalSteps)
    {
        var clock = Stopwatch.StartNew();
        ulong batchSeed = _rng.Take();
        var prep = Prepare(_rollouts.Sample(SamplesOf(batch), batchSeed, 1));
        double rolloutSeconds = clock.Elapsed.TotalSeconds;
        trained.ZeroGrad();
        _criticUpdate.ZeroGrad();
        int rows = prep.Sequences.Rows, mb = Math.Max(1, Math.Min(_o.MiniBatchSize, rows));
        // MiniMind's T_max: every optimizer step the schedule will take (ceil(batch / mini) per PPO epoch, accumulation 1).
        long tMax = totalSteps * _o.UpdateEpochs * ((rows + _o.MiniBatchSize - 1) / _o.MiniBatchSize);
        bool stop = false, skipped = false;
        double lastNorm = 0, actorLr = 0, criticLr = 0;
        var sums = new MinibatchTally();
        for (int epoch = 0; epoch < _o.UpdateEpochs && !stop; epoch++)
        {
            var order = DataOrder.Permutation(rows, unchecked((long)batchSeed), epoch);
            for (int i = 0; i < rows; i += mb)
            {
                var r = Minibatch(prep, order[i..Math.Min(i + mb, rows)], stop, backward: true);
                stop = r.Stopped;
                sums.Add(r);
                // the schedules' position: optimizer steps taken so far (both step together)
                long k = trained.Adam.Step;
                actorLr = LrSchedule.CosineAnnealing(k, tMax, _actorLr, _actorLr / 10);
                criticLr = LrSchedule.CosineAnnealing(k, tMax, _o.CriticLearningRate, _o.CriticLearningRate / 10);
                double aSq = trained.SumOfSquares(), cSq = _criticUpdate.SumOfSquares();
                if (float.IsFinite(r.Loss) && double.IsFinite(aSq) && double.IsFinite(cSq))
                {
                    trained.Step(actorLr, aSq);
                    _criticUpdate.Step(criticLr, cSq);
                    lastNorm = Math.Sqrt(aSq);
                }
                else { trained.ZeroGrad(); _criticUpdate.ZeroGrad(); skipped = true; }
            }
        }
        _tally.Add(prep, sums, actorLr, criticLr, rolloutSeconds, clock.Elapsed.TotalSeconds - rolloutSeconds);
        if (KeepRollouts) _kept.Add((prep, sums.MeanLoss));
        return new StepResult(sums.MeanLoss, skipped ? double.PositiveInfinity : lastNorm, false) { AuxLoss = sums.MeanAux };
    }

    /// <summary>
    /// What train_ppo.py computes from a rollout batch before its update epochs: the sequences, the old log-probs (the
    /// actor's forward: MiniMind's rollout engine runs a no-grad forward of the same weights), the critic's old values and
    /// the reference's log-probs at the response positions, and the advantages and returns.
    /// </summary>
    public PpoRollout Prepare(GrpoRolloutBatch rollout)
    {
        var seqs = RolloutSequences.Of(rollout, 1, _eos);
        var b = seqs.Batch;
        var oldLogp = seqs.Responses(_actor.TokenLogProbs(b).LogProbs);
        var oldValues = seqs.Responses(_critic.Values(b.Inputs, b.BatchSize, b.SeqLen, b.PositionOffsets));
        var refLogp = seqs.Responses(_reference.TokenLogProbs(b).LogProbs);
        var rewards = rollout.Rewards.Select(x => x.Total).ToArray();
        var adv = PpoAdvantages.Compute(seqs.CompletionIds, default, seqs.Rows, seqs.Width, _eos, oldValues, rewards, _o);
        return new PpoRollout(rollout, seqs, adv, oldLogp, refLogp);
    }

    /// <summary>
    /// One minibatch of train_ppo.py's update: rows <paramref name="rows"/> of <paramref name="prep"/> through the critic
    /// and the actor, the approximate KL (which sets the early stop), the losses, and with <paramref name="backward"/> their
    /// gradients added into the actor's and the critic's (× 0 once <paramref name="stopped"/> or stopping now).
    /// </summary>
    public PpoMinibatch Minibatch(PpoRollout prep, int[] rows, bool stopped, bool backward)
    {
        var sub = prep.Sequences.Select(rows);
        var b = sub.Batch;
        var values = sub.Responses(_critic.Values(b.Inputs, b.BatchSize, b.SeqLen, b.PositionOffsets));
        var (lpFull, aux) = _actor.TokenLogProbs(b);
        var logp = sub.Responses(lpFull);
        float approxKl = PpoLoss.ApproxKl(prep.Advantages, rows, logp, prep.OldLogProbs);
        bool stop = stopped || approxKl > (float)_o.EarlyStopKl;
        float scale = stop ? 0f : 1f;
        var dLogp = new float[logp.Length];
        var dValues = new float[logp.Length];
        var res = PpoLoss.Compute(prep.Advantages, rows, logp, values, prep.OldLogProbs, prep.RefLogProbs, _o, scale, dLogp, dValues);
        if (backward)
        {
            _actor.TokenLogProbsBackward(b, sub.Spread(dLogp), scale);
            _critic.ValuesBackward(b.BatchSize, b.SeqLen, sub.Spread(dValues));
        }
        return new PpoMinibatch(res.Total(_o) + aux, res, aux, stop);
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> ConsoleMetrics { get; } = new[] { "reward", "kl_ref", "critic_loss" };

    /// <inheritdoc/>
    /// <remarks>PPO runs on one process (the trainer refuses it under mpirun): its own values are every rank's.</remarks>
    public IReadOnlyList<KeyValuePair<string, double>> TakeStepMetrics(ICommunicator comm)
    {
        var t = _tally;
        _tally = new StepTally();
        return t.Metrics();
    }

    /// <inheritdoc/>
    public void Dispose() { _rollouts.Dispose(); _criticAdam.Dispose(); }

    // Sums over a step's minibatches, averaged as MiniMind logs them (each minibatch counts once).
    private sealed class MinibatchTally
    {
        public double Loss, Aux, Policy, Value, ApproxKl, KlRef, Clip;
        public int Count;

        public void Add(PpoMinibatch m)
        {
            Loss += m.Loss; Aux += m.Aux; Policy += m.Losses.PolicyLoss; Value += m.Losses.ValueLoss; ApproxKl += m.Losses.ApproxKl;
            KlRef += m.Losses.KlRef; Clip += m.Losses.ClipFraction; Count++;
        }

        public float MeanLoss => (float)(Loss / Math.Max(Count, 1));
        public float MeanAux => (float)(Aux / Math.Max(Count, 1));
    }

    // A step's numbers: MiniMind's log line (reward, KL to the reference, approximate KL, clip fraction, critic loss,
    // response length, both learning rates) and the rollout's throughput and share of the step.
    private sealed class StepTally
    {
        private readonly List<KeyValuePair<string, double>> _values = new();

        public void Add(PpoRollout prep, MinibatchTally m, double actorLr, double criticLr, double rolloutSeconds, double updateSeconds)
        {
            var rewards = prep.Rollout.Rewards.Select(x => (double)x.Total).ToArray();
            double mean = rewards.Average(), n = Math.Max(m.Count, 1);
            long generated = prep.Rollout.Completions.Sum(c => (long)c.Length);
            _values.Clear();
            _values.AddRange(new KeyValuePair<string, double>[]
            {
                new("reward", mean), new("reward_std", Math.Sqrt(rewards.Average(x => (x - mean) * (x - mean)))),
                new("kl_ref", m.KlRef / n), new("approx_kl", m.ApproxKl / n), new("clip_fraction", m.Clip / n),
                new("policy_loss", m.Policy / n), new("critic_loss", m.Value / n), new("ppo_minibatches", m.Count),
                new("completion_len", prep.Advantages.Lengths.Average()), new("actor_lr", actorLr), new("critic_lr", criticLr),
                new("rollout_tokens_per_s", generated / Math.Max(rolloutSeconds, 1e-9)),
                new("rollout_share", rolloutSeconds / Math.Max(rolloutSeconds + updateSeconds, 1e-9)),
            });
        }

        public IReadOnlyList<KeyValuePair<string, double>> Metrics() => _values.ToArray();
    }
}

/// <summary>A PPO rollout batch prepared for its update: the sampled batch, its sequences, advantages/returns/masks, and the old and reference log-probs [rows × R].</summary>
public sealed record PpoRollout(GrpoRolloutBatch Rollout, RolloutSequences Sequences, PpoAdvantages Advantages, float[] OldLogProbs, float[] RefLogProbs);

/// <summary>One PPO minibatch: its loss (policy + vf_coef·value + aux, before the early stop's × 0), the parts, the aux loss, and whether the update has stopped.</summary>
public readonly record struct PpoMinibatch(float Loss, PpoLossResult Losses, float Aux, bool Stopped);

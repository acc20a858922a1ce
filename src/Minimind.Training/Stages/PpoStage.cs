using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data.Rl;
using Minimind.Model.Tokenizer;
using Minimind.Training.Checkpointing;
using Minimind.Training.Distributed;
using Minimind.Training.Rl;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_ppo.py</c>: a loop step is one rollout batch — B prompts per micro-batch, one completion each
/// sampled by the <see cref="PromptRollouts"/> from the actor, scored by <see cref="GrpoRewards"/> — then its update: the
/// old log-probs (the actor's own forward), the critic's old values, the frozen reference's log-probs, GAE and advantages
/// whitened over the step's whole rollout batch (<see cref="PpoAdvantages"/>), and --ppo-update-iters epochs over
/// minibatches of --mini-batch-size rows in a fresh random order each, every minibatch one optimizer step of both the
/// actor (the trained buffer) and the critic (<see cref="PpoLoss"/>: clipped policy + kl_coef·k3, clipped value loss;
/// + MoE aux), each clipped to --grad-clip separately and stepped on its own CosineAnnealingLR to lr/10 over
/// ⌈steps · iters · ⌈B / mini⌉⌉ optimizer steps. MiniMind's KL early stop: once a minibatch's approximate KL passes
/// --early-stop-kl, the rest of that epoch back-propagates the loss × 0 (both optimizers and schedules still step) and
/// the next epochs are skipped.
/// <para>
/// Data parallel as MiniMind's DDP ranks: a step of G = W × --accumulation-steps micro-batches is one rollout batch of
/// G·B rows, each micro-batch rolled out where it is trained. Minibatch k takes rows [k·m, (k+1)·m) of every micro-batch's
/// own shuffle (m = min(mini, B)); each micro-batch's part is one leaf of the <see cref="DataParallel"/> tree (its loss
/// × 1/G, the ranks' average), the actor's and the critic's gradients summed together in the fixed tree order, and the
/// early stop compares the mean of the parts' approximate KLs (MiniMind all-reduces it, AVG) — the same decision on
/// every rank. W ranks × A micro-batches thus equal one process × W·A bit for bit.
/// </para>
/// <para>
/// Differences from MiniMind, by necessity: the rollout seeds come from each prompt's place in the data order
/// (<see cref="RolloutRng.PromptSeed"/>), and a micro-batch's minibatch order is <see cref="DataOrder.Permutation"/>
/// seeded by its first prompt's seed and the PPO epoch, not torch.randperm; advantages are whitened over all ranks' rows
/// (MiniMind's DDP ranks whiten their own); a minibatch update whose loss or gradient is not finite is skipped for both
/// networks (the divergence guard). Left pads as in <see cref="RolloutSequences"/>.
/// </para>
/// Everything a resumed run needs is in the step folder: the actor and its AdamW (the trained model's files), the
/// critic and its AdamW with its step (<c>critic_*</c>), the rollout key (<c>rollout_rng.bin</c>); the reference
/// is reloaded from its file, whose hash is in the <see cref="Signature"/>. Every save also writes the critic's
/// weights beside the actor's (<see cref="Exports"/>: <c>ppo_critic_&lt;dim&gt;.pth</c>).
/// </summary>
public sealed partial class PpoStage : ModelStage, ITrainingStage, IOptimizingStage, IStepMetricsSource, IDisposable
{
    /// <summary>The critic's component name in a step folder (files <c>critic_model.f32</c>, ...).</summary>
    public const string CriticName = "critic";

    private readonly MiniMindModel _actor, _critic, _reference;
    private readonly PpoOptions _o;
    private readonly int _eos, _rows;
    private readonly double _actorLr;
    private readonly PromptRollouts _rollouts;
    private readonly RolloutRng _rng;
    private readonly AdamWState _criticAdam;
    private readonly OptimizedParameters _criticUpdate;
    private readonly TrainedParametersState _criticState;
    private readonly ComponentWeightsExport _criticExport;
    private readonly PlacedBatches _placed;
    private StepTally _tally = new();

    /// <summary>
    /// Trains <paramref name="actor"/> and <paramref name="critic"/> (a <see cref="MiniMindModel.CreateCritic"/> model; both,
    /// and the frozen <paramref name="reference"/>, hold <paramref name="maxPrompts"/> rows of the prompts' <see cref="RlPromptSet.SeqLen"/>)
    /// on <paramref name="prompts"/>, micro-batches of <paramref name="maxPrompts"/> prompts, stopping completions at
    /// <paramref name="eosId"/>. <paramref name="train"/> gives the actor's learning rate, the clip and the weight decay
    /// the critic shares, and the save dtype of the critic's file <paramref name="criticPath"/>; <paramref name="referenceId"/>
    /// (its file's hash) joins the signature; <paramref name="seed"/> seeds the rollout key of a fresh run.
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
        _actor = actor; _critic = critic; _reference = reference; _o = options; _eos = eosId; _rows = maxPrompts; _actorLr = train.LearningRate; _tokenizer = tokenizer;
        _rollouts = new PromptRollouts(actor, prompts, options.Sampling, rewards, tokenizer, eosId, maxPrompts);
        _rng = new RolloutRng(seed);
        _placed = new PlacedBatches(prompts);
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
    public IReadOnlyList<Tensor> OwnGradients => new[] { _critic.Gradients };

    /// <inheritdoc/>
    /// <remarks>An unplaced batch (the data fingerprint's) can be read but not trained on: its rollouts have no seeds.</remarks>
    public override Batch CreateBatch(ReadOnlySpan<int> samples) => _placed.Create(samples, null);

    /// <inheritdoc/>
    public Batch CreateBatch(ReadOnlySpan<int> samples, BatchPlace place) => _placed.Create(samples, place);

    // The micro-batch's rollouts (each prompt seeded from its place) and its minibatch shuffles' seed (its first prompt's).
    private (GrpoRolloutBatch Rollout, long OrderSeed) Sample(Batch batch)
    {
        var (samples, _, seeds) = _placed.Of(batch, _rng, Name);
        if (samples.Length != _rows) throw new ArgumentException($"a ppo micro-batch has {_rows} prompts (--batch-size), got {samples.Length}");
        return (_rollouts.Sample(samples, seeds, 1), unchecked((long)seeds[0]));
    }

    /// <inheritdoc/>
    /// <remarks>PPO steps its optimizers inside a step (<see cref="TrainStep"/>); there is no single gradient to return.</remarks>
    public override float ForwardBackward(Batch batch, float lossScale) =>
        throw new NotSupportedException("--stage ppo takes its own optimizer steps inside a loop step (IOptimizingStage.TrainStep), not one gradient per batch");

    /// <inheritdoc/>
    /// <remarks>The resume check's value: samples the rollouts <paramref name="batch"/> will (the seeds come from its place)
    /// and returns the loss of all its rows as one minibatch under the current actor and critic, whitened over this batch
    /// alone (no other rank takes part: every rank computes it on its own).</remarks>
    public override float ForwardLoss(Batch batch)
    {
        var prep = Prepare(Sample(batch).Rollout);
        return Minibatch(prep, Enumerable.Range(0, prep.Sequences.Rows).ToArray(), stopped: false, backward: false).Loss;
    }

    /// <inheritdoc/>
    public StepResult TrainStep(IReadOnlyList<Batch> mine, int available, DataParallel parallel, OptimizedParameters trained, long totalSteps)
    {
        var clock = Stopwatch.StartNew();
        var sampled = mine.Select(Sample).ToArray();
        double rolloutSeconds = clock.Elapsed.TotalSeconds;
        var preps = Prepare(sampled.Select(x => x.Rollout).ToArray(), parallel.Comm);
        trained.ZeroGrad();
        _criticUpdate.ZeroGrad();
        int rows = _rows, mb = Math.Max(1, Math.Min(_o.MiniBatchSize, rows));
        // MiniMind's T_max: every optimizer step the schedule will take (ceil(batch / mini) per PPO epoch, accumulation 1).
        long tMax = totalSteps * _o.UpdateEpochs * ((rows + _o.MiniBatchSize - 1) / _o.MiniBatchSize);
        // Each micro-batch's part of a minibatch counts 1/G, as DDP averages its ranks' gradients.
        float share = 1f / available;
        bool stop = false, skipped = false;
        double lastNorm = 0, actorLr = 0, criticLr = 0;
        var sums = new MinibatchTally();
        for (int epoch = 0; epoch < _o.UpdateEpochs && !stop; epoch++)
        {
            var orders = sampled.Select(x => DataOrder.Permutation(rows, x.OrderSeed, epoch)).ToArray();
            for (int i = 0; i < rows; i += mb)
            {
                bool stopped = stop;
                int end = Math.Min(i + mb, rows);
                var (parts, _) = parallel.StepGathered(available, MinibatchValues.Width,
                    k => MinibatchValues.Of(Part(preps[k], orders[k][i..end], stopped ? 0f : share, backward: !stopped)), false);
                var r = MinibatchValues.Mean(parts);
                // MiniMind's stop: the ranks' average approximate KL (the same on every rank); the minibatch that stops is × 0.
                stop = stopped || r.Losses.ApproxKl > (float)_o.EarlyStopKl;
                if (stop && !stopped) { trained.ZeroGrad(); _criticUpdate.ZeroGrad(); }
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
        _tally.Add(preps, sums, actorLr, criticLr, rolloutSeconds, clock.Elapsed.TotalSeconds - rolloutSeconds);
        if (KeepRollouts) foreach (var prep in preps) _kept.Add((prep, sums.MeanLoss));
        return new StepResult(sums.MeanLoss, skipped ? double.PositiveInfinity : lastNorm, false) { AuxLoss = sums.MeanAux };
    }

    /// <summary>
    /// The step's rollout batches of this rank prepared for the update (<see cref="Prepare(GrpoRolloutBatch)"/> each), the
    /// advantages whitened over every rank's rows: rank 0 gathers the raw GAE advantages in rank order (micro-batch
    /// order), computes <see cref="PpoAdvantages.Whitening"/> as one process would, and sends every rank the mean and scale.
    /// </summary>
    private PpoRollout[] Prepare(GrpoRolloutBatch[] rollouts, ICommunicator comm)
    {
        var raw = rollouts.Select(Collect).ToArray();
        var (mean, rstd) = GlobalWhitening(raw.Select(r => r.Advantages).ToArray(), comm);
        return raw.Select(r => r with { Advantages = r.Advantages.Whiten(mean, rstd) }).ToArray();
    }

    private static (float Mean, float RStd) GlobalWhitening(PpoAdvantages[] mine, ICommunicator comm)
    {
        if (comm.Size == 1) return PpoAdvantages.Whitening(mine.Select(a => (a.Advantages, a.Mask)).ToArray());
        // [parts] then per part: [n] advantages… mask… (float32 each, exact)
        var v = new List<float> { mine.Length };
        foreach (var a in mine) { v.Add(a.Mask.Length); v.AddRange(a.Advantages); v.AddRange(a.Mask); }
        var bytes = new byte[v.Count * sizeof(float)];
        Buffer.BlockCopy(v.ToArray(), 0, bytes, 0, bytes.Length);
        var all = Collectives.Gather(comm, bytes, 0);
        var stats = new byte[2 * sizeof(float)];
        if (all is not null)
        {
            var parts = new List<(float[], float[])>();
            foreach (var b in all)
            {
                var f = new float[b.Length / sizeof(float)];
                Buffer.BlockCopy(b, 0, f, 0, b.Length);
                int at = 0, count = (int)f[at++];
                for (int p = 0; p < count; p++)
                {
                    int n = (int)f[at++];
                    parts.Add((f.AsSpan(at, n).ToArray(), f.AsSpan(at + n, n).ToArray()));
                    at += 2 * n;
                }
            }
            var (m, r) = PpoAdvantages.Whitening(parts);
            BitConverter.TryWriteBytes(stats.AsSpan(0, 4), m);
            BitConverter.TryWriteBytes(stats.AsSpan(4, 4), r);
        }
        Collectives.Broadcast(comm, stats, 0);
        return (BitConverter.ToSingle(stats, 0), BitConverter.ToSingle(stats, 4));
    }

    /// <summary>
    /// What train_ppo.py computes from a rollout batch before its update epochs: the sequences, the old log-probs (the
    /// actor's forward: MiniMind's rollout engine runs a no-grad forward of the same weights), the critic's old values and
    /// the reference's log-probs at the response positions, and the advantages (whitened over this batch) and returns.
    /// </summary>
    public PpoRollout Prepare(GrpoRolloutBatch rollout)
    {
        var raw = Collect(rollout);
        var (mean, rstd) = PpoAdvantages.Whitening(new[] { (raw.Advantages.Advantages, raw.Advantages.Mask) });
        return raw with { Advantages = raw.Advantages.Whiten(mean, rstd) };
    }

    // Prepare before the whitening: the raw GAE advantages.
    private PpoRollout Collect(GrpoRolloutBatch rollout)
    {
        var seqs = RolloutSequences.Of(rollout, 1, _eos);
        var b = seqs.Batch;
        var oldLogp = seqs.Responses(_actor.TokenLogProbs(b).LogProbs);
        var oldValues = seqs.Responses(_critic.Values(b.Inputs, b.BatchSize, b.SeqLen, b.PositionOffsets));
        var refLogp = seqs.Responses(_reference.TokenLogProbs(b).LogProbs);
        var rewards = rollout.Rewards.Select(x => x.Total).ToArray();
        var adv = PpoAdvantages.Gae(seqs.CompletionIds, default, seqs.Rows, seqs.Width, _eos, oldValues, rewards, _o);
        return new PpoRollout(rollout, seqs, adv, oldLogp, refLogp);
    }

    /// <summary>
    /// One minibatch of train_ppo.py's update on one process: rows <paramref name="rows"/> of <paramref name="prep"/>
    /// through the critic and the actor, the approximate KL (which sets the early stop), the losses, and with
    /// <paramref name="backward"/> their gradients added into the actor's and the critic's (× 0 once
    /// <paramref name="stopped"/> or stopping now).
    /// </summary>
    public PpoMinibatch Minibatch(PpoRollout prep, int[] rows, bool stopped, bool backward) =>
        Forward(prep, rows, backward, kl => stopped || kl > (float)_o.EarlyStopKl);

    // One micro-batch's part of a minibatch: its gradients × scale (the early stop is decided over all parts afterwards).
    private PpoMinibatch Part(PpoRollout prep, int[] rows, float scale, bool backward) => Forward(prep, rows, backward, _ => false, scale);

    private PpoMinibatch Forward(PpoRollout prep, int[] rows, bool backward, Func<float, bool> stops, float scale = 1f)
    {
        var sub = prep.Sequences.Select(rows);
        var b = sub.Batch;
        var values = sub.Responses(_critic.Values(b.Inputs, b.BatchSize, b.SeqLen, b.PositionOffsets));
        var (lpFull, aux) = _actor.TokenLogProbs(b);
        var logp = sub.Responses(lpFull);
        float approxKl = PpoLoss.ApproxKl(prep.Advantages, rows, logp, prep.OldLogProbs);
        bool stop = stops(approxKl);
        if (stop) scale = 0f;
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
    /// <remarks>The rollouts' values (reward, its spread, completion length, throughput) over every rank on rank 0; the
    /// update's (losses, KLs, clip fraction, learning rates) are the ranks' averages every rank holds.</remarks>
    public IReadOnlyList<KeyValuePair<string, double>> TakeStepMetrics(ICommunicator comm)
    {
        var t = _tally;
        _tally = new StepTally();
        return t.Metrics(comm);
    }

    /// <inheritdoc/>
    public void Dispose() { _rollouts.Dispose(); _criticAdam.Dispose(); }

    // A minibatch's values as the ranks exchange them, one float each per micro-batch part, and their mean over the parts.
    private static class MinibatchValues
    {
        public const int Width = 7;

        public static float[] Of(PpoMinibatch m) => new[]
        {
            m.Loss, m.Aux, m.Losses.PolicyLoss, m.Losses.ValueLoss, m.Losses.ApproxKl, m.Losses.KlRef, m.Losses.ClipFraction,
        };

        // In micro-batch order, float64, as one process sums them (one part: its own values exactly).
        public static PpoMinibatch Mean(float[][] parts)
        {
            var mean = new float[Width];
            for (int j = 0; j < Width; j++)
            {
                double sum = 0;
                foreach (var p in parts) sum += p[j];
                mean[j] = (float)(sum / parts.Length);
            }
            return new PpoMinibatch(mean[0], new PpoLossResult(mean[2], mean[3], mean[4], mean[6], mean[5]), mean[1], false);
        }
    }

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
    // response length, both learning rates) and the rollout's throughput and share of the step. The rollout part is each
    // rank's own until Metrics gathers it on rank 0 in rank order (micro-batch order).
    private sealed class StepTally
    {
        // per micro-batch: [rows] rewards… lengths…; then generated tokens, rollout and update seconds (float64 each, exact)
        private readonly List<double> _rollouts = new();
        private readonly List<KeyValuePair<string, double>> _update = new();

        public void Add(PpoRollout[] preps, MinibatchTally m, double actorLr, double criticLr, double rolloutSeconds, double updateSeconds)
        {
            double n = Math.Max(m.Count, 1);
            _rollouts.Clear();
            foreach (var p in preps)
            {
                _rollouts.Add(p.Rollout.Rewards.Length);
                _rollouts.AddRange(p.Rollout.Rewards.Select(x => (double)x.Total));
                _rollouts.AddRange(p.Advantages.Lengths.Select(x => (double)x));
            }
            _rollouts.Add(preps.Sum(p => p.Rollout.Completions.Sum(c => (long)c.Length)));
            _rollouts.Add(rolloutSeconds);
            _rollouts.Add(updateSeconds);
            _update.Clear();
            _update.AddRange(new KeyValuePair<string, double>[]
            {
                new("kl_ref", m.KlRef / n), new("approx_kl", m.ApproxKl / n), new("clip_fraction", m.Clip / n),
                new("policy_loss", m.Policy / n), new("critic_loss", m.Value / n), new("ppo_minibatches", m.Count),
                new("actor_lr", actorLr), new("critic_lr", criticLr),
            });
        }

        public IReadOnlyList<KeyValuePair<string, double>> Metrics(ICommunicator comm)
        {
            if (_update.Count == 0) return Array.Empty<KeyValuePair<string, double>>();
            var bytes = new byte[_rollouts.Count * sizeof(double)];
            Buffer.BlockCopy(_rollouts.ToArray(), 0, bytes, 0, bytes.Length);
            var all = comm.Size == 1 ? new[] { bytes } : Collectives.Gather(comm, bytes, 0) ?? new[] { bytes };
            var rewards = new List<double>();
            var lengths = new List<double>();
            double generated = 0, rolloutSeconds = 0, updateSeconds = 0;
            foreach (var b in all)
            {
                var v = new double[b.Length / sizeof(double)];
                Buffer.BlockCopy(b, 0, v, 0, b.Length);
                int at = 0;
                while (at < v.Length - 3)
                {
                    int rows = (int)v[at++];
                    rewards.AddRange(v.AsSpan(at, rows).ToArray());
                    lengths.AddRange(v.AsSpan(at + rows, rows).ToArray());
                    at += 2 * rows;
                }
                generated += v[^3]; rolloutSeconds += v[^2]; updateSeconds += v[^1];
            }
            if (rewards.Count == 0) return _update.ToArray();
            double mean = rewards.Average();
            var rollout = new KeyValuePair<string, double>[]
            {
                new("reward", mean), new("reward_std", Math.Sqrt(rewards.Average(x => (x - mean) * (x - mean)))),
                new("completion_len", lengths.Average()),
                new("rollout_tokens_per_s", generated / Math.Max(rolloutSeconds, 1e-9)),
                new("rollout_share", rolloutSeconds / Math.Max(rolloutSeconds + updateSeconds, 1e-9)),
            };
            return rollout.Take(2).Concat(_update).Concat(rollout.Skip(2)).ToArray();
        }
    }
}

/// <summary>A PPO rollout batch prepared for its update: the sampled batch, its sequences, advantages/returns/masks, and the old and reference log-probs [rows × R].</summary>
public sealed record PpoRollout(GrpoRolloutBatch Rollout, RolloutSequences Sequences, PpoAdvantages Advantages, float[] OldLogProbs, float[] RefLogProbs);

/// <summary>One PPO minibatch: its loss (policy + vf_coef·value + aux, before the early stop's × 0), the parts, the aux loss, and whether the update has stopped.</summary>
public readonly record struct PpoMinibatch(float Loss, PpoLossResult Losses, float Aux, bool Stopped);

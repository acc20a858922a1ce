using System.Diagnostics;
using Minimind.Kernels.Distributed;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Generation;
using Minimind.Training.Checkpointing;
using Minimind.Training.Rl;

namespace Minimind.Training.Stages;

/// <summary>
/// What the rollout-trained stages (grpo, agent) share on the one training loop: a sample is a prompt index, a
/// micro-batch is one rollout batch sampled by the <see cref="RolloutEngine"/> from the current weights, each prompt's
/// sequences seeded from the checkpointed <see cref="RolloutRng"/> key and the prompt's place in the data order
/// (<see cref="BatchPlace"/>, the same on any rank and world size), then one policy update against the frozen
/// reference; the step's reward/KL/throughput metrics, over every rank. A subclass says how it rolls out (<see cref="Rollout"/>) and what its loss is
/// (<see cref="Update"/>).
/// </summary>
/// <typeparam name="TRollout">One micro-batch's rollouts (what the update and the rollout log read).</typeparam>
public abstract class RolloutStage<TRollout> : ModelStage, ITrainingStage, IStepMetricsSource, IDisposable where TRollout : class
{
    private readonly PlacedBatches _placed;
    private RlStepTally _tally = new();

    /// <summary>
    /// A stage training <paramref name="policy"/> against the frozen <paramref name="reference"/> (both must hold
    /// <paramref name="sequences"/> rows), rolling out up to <paramref name="sequences"/> sequences at once within
    /// <paramref name="context"/> positions; <paramref name="seed"/> seeds the rollout stream of a fresh run.
    /// </summary>
    protected RolloutStage(MiniMindModel policy, MiniMindModel reference, IPretrainSource data, int sequences, int context, long seed, string shape)
        : base(policy, data)
    {
        if (policy.MaxBatch < sequences || reference.MaxBatch < sequences)
            throw new ArgumentException($"the models hold {Math.Min(policy.MaxBatch, reference.MaxBatch)} rows; a rollout batch has {sequences} ({shape})");
        Policy = policy; Reference = reference;
        Engine = new RolloutEngine(policy, new RolloutEngineOptions { MaxSequences = sequences, Context = context });
        Rng = new RolloutRng(seed);
        _placed = new PlacedBatches(data);
    }

    /// <summary>The trained model.</summary>
    protected MiniMindModel Policy { get; }
    /// <summary>The frozen reference of the KL term.</summary>
    protected MiniMindModel Reference { get; }
    /// <summary>The engine sampling the rollouts from <see cref="Policy"/>'s current weights.</summary>
    protected RolloutEngine Engine { get; }
    /// <summary>The rollouts' random stream, saved in every checkpoint.</summary>
    protected RolloutRng Rng { get; }

    /// <inheritdoc/>
    public IReadOnlyList<ICheckpointState> CheckpointStates => new ICheckpointState[] { Rng };

    /// <summary>The rollout batch the last <see cref="ForwardBackward"/> trained on (the rollout log reads it).</summary>
    public TRollout? LastRollout { get; private set; }

    /// <inheritdoc/>
    /// <remarks>An unplaced batch (the data fingerprint's) can be read but not trained on: its rollouts have no seeds.</remarks>
    public override Batch CreateBatch(ReadOnlySpan<int> samples) => _placed.Create(samples, null);

    /// <inheritdoc/>
    public Batch CreateBatch(ReadOnlySpan<int> samples, BatchPlace place) => _placed.Create(samples, place);

    /// <inheritdoc/>
    public override float ForwardBackward(Batch batch, float lossScale)
    {
        var clock = Stopwatch.StartNew();
        var (samples, seeds) = SamplesOf(batch);
        var rollout = Rollout(samples, seeds);
        double rolloutSeconds = clock.Elapsed.TotalSeconds;
        var (loss, result) = Update(rollout, lossScale, backward: true);
        _tally.Add(Rewards(rollout), result, Generated(rollout), rolloutSeconds, clock.Elapsed.TotalSeconds - rolloutSeconds);
        LastRollout = Trained(rollout, loss);
        return loss;
    }

    /// <inheritdoc/>
    /// <remarks>Samples the rollouts a step on <paramref name="batch"/> will (the seeds come from its place): the resume check's loss.</remarks>
    public override float ForwardLoss(Batch batch)
    {
        var (samples, seeds) = SamplesOf(batch);
        return Update(Rollout(samples, seeds), 0f, backward: false).Loss;
    }

    // The batch's prompt indices and each prompt's seed (from the rollout key and its place in the data order).
    private (int[] Samples, ulong[] PromptSeeds) SamplesOf(Batch batch)
    {
        var (samples, _, seeds) = _placed.Of(batch, Rng, Name);
        return (samples, seeds);
    }

    /// <summary>The rollouts of the prompts <paramref name="samples"/>, prompt b's sequences seeded from <paramref name="promptSeeds"/>[b] (<see cref="RolloutRng.SeedOf"/>).</summary>
    protected abstract TRollout Rollout(int[] samples, ulong[] promptSeeds);

    /// <summary>The policy loss of <paramref name="rollout"/> (+ MoE aux) and, when <paramref name="backward"/>, its gradient scaled by <paramref name="lossScale"/>.</summary>
    protected abstract (float Loss, PolicyLossResult Result) Update(TRollout rollout, float lossScale, bool backward);

    /// <summary>Every completion's reward.</summary>
    protected abstract IEnumerable<float> Rewards(TRollout rollout);

    /// <summary>Tokens the model sampled in <paramref name="rollout"/>.</summary>
    protected abstract long Generated(TRollout rollout);

    /// <summary>The rollout as <see cref="LastRollout"/> keeps it once trained with <paramref name="loss"/>.</summary>
    protected virtual TRollout Trained(TRollout rollout, float loss) => rollout;

    /// <summary>
    /// The per-token log-probs of <paramref name="batch"/>'s targets under the reference and the policy (the policy's
    /// forward last, so its activations serve <see cref="PolicyBackward"/>), and the policy's MoE aux loss.
    /// </summary>
    protected (float[] Policy, float[] Reference, float Aux) TokenLogProbs(Batch batch)
    {
        var (refLp, _) = Reference.TokenLogProbs(batch);
        var (lp, aux) = Policy.TokenLogProbs(batch);
        return (lp, refLp, aux);
    }

    /// <summary>Right after <see cref="TokenLogProbs"/>: backpropagates the loss's gradient w.r.t. the policy's per-token log-probs.</summary>
    protected void PolicyBackward(Batch batch, ReadOnlySpan<float> dLogProbs, float lossScale) => Policy.TokenLogProbsBackward(batch, dLogProbs, lossScale);

    /// <inheritdoc/>
    public IReadOnlyList<string> ConsoleMetrics { get; } = new[] { "reward", "kl_ref" };

    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, double>> TakeStepMetrics(ICommunicator comm)
    {
        var t = _tally;
        _tally = new RlStepTally();
        return t.Metrics(comm);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Engine.Dispose();
        GC.SuppressFinalize(this);
    }
}

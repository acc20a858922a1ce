using System.Globalization;
using Minimind.Model;
using Minimind.Model.Data;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_dpo.py</c>: a sample is a (chosen, rejected) pair; a micro-batch holds the B chosen
/// rows then the B rejected rows (torch.cat([x_chosen, x_rejected])). With π and ρ the policy's and the
/// frozen reference's Σ masked log p(target) per row, z = β·((π_c − π_r) − (ρ_c − ρ_r)) and the loss is
/// mean(−log σ(z)) + the policy's MoE aux loss; the whole policy trains.
/// </summary>
public sealed class DpoStage : ModelStage
{
    private readonly MiniMindModel _policy, _reference;
    private readonly IPretrainSource _rejected;

    /// <summary>MiniMind's β (train_dpo.py --beta).</summary>
    public const double DefaultBeta = 0.15;

    /// <summary>β of the loss.</summary>
    public double Beta { get; }

    /// <summary>
    /// Trains <paramref name="policy"/> against the frozen <paramref name="reference"/> on pairs (chosen[i], rejected[i]);
    /// both models must accept batches of 2 × the batch size. <paramref name="referenceId"/> (e.g. the SHA-256 of the
    /// reference's file) joins the <see cref="Signature"/>, so a resume with another reference is refused.
    /// </summary>
    public DpoStage(MiniMindModel policy, MiniMindModel reference, IPretrainSource chosen, IPretrainSource rejected, double beta = DefaultBeta, string? referenceId = null)
        : base(policy, chosen)
    {
        if (chosen.Count != rejected.Count || chosen.SeqLen != rejected.SeqLen)
            throw new ArgumentException($"chosen ({chosen.Count} rows of {chosen.SeqLen}) and rejected ({rejected.Count} rows of {rejected.SeqLen}) must pair up");
        if (!(beta > 0) || !double.IsFinite(beta)) throw new ArgumentException($"--beta must be a positive number, got {beta}");
        _policy = policy; _reference = reference; _rejected = rejected; Beta = beta;
        var signature = new List<KeyValuePair<string, string>> { new("stage", "dpo"), new("beta", beta.ToString("R", CultureInfo.InvariantCulture)) };
        if (referenceId is not null) signature.Add(new("reference", referenceId));
        Signature = signature;
    }

    /// <inheritdoc/>
    public override string Name => "dpo";
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }

    /// <inheritdoc/>
    public override Batch CreateBatch(ReadOnlySpan<int> samples)
    {
        int b = samples.Length, t = Data.SeqLen;
        var inputs = new int[2 * b * t];
        var targets = new int[2 * b * t];
        for (int r = 0; r < b; r++)
        {
            Data.Fill(samples[r], inputs.AsSpan(r * t, t), targets.AsSpan(r * t, t));
            _rejected.Fill(samples[r], inputs.AsSpan((b + r) * t, t), targets.AsSpan((b + r) * t, t));
        }
        return new Batch(2 * b, t, inputs, targets);
    }

    /// <inheritdoc/>
    public override float ForwardBackward(Batch batch, float lossScale)
    {
        var (loss, aux, dz) = Loss(batch);
        int n = batch.BatchSize / 2;
        var coef = new double[batch.BatchSize];
        for (int i = 0; i < n; i++)
        {
            // ∂loss/∂π_c = −β·σ(−z)/n, ∂loss/∂π_r = +β·σ(−z)/n
            coef[i] = lossScale * Beta * dz[i] / n;
            coef[n + i] = -coef[i];
        }
        _policy.SequenceLogProbsBackward(batch, coef, lossScale);
        return (float)(loss + aux);
    }

    /// <inheritdoc/>
    public override float ForwardLoss(Batch batch)
    {
        var (loss, aux, _) = Loss(batch);
        return (float)(loss + aux);
    }

    /// <summary>
    /// The DPO loss of <paramref name="batch"/> (policy forward last, ready for its backward), the policy's aux
    /// loss, and −σ(−z) per pair (∂(−log σ(z))/∂z).
    /// </summary>
    public (double Loss, float Aux, double[] DLossDz) Loss(Batch batch)
    {
        if (batch.BatchSize % 2 != 0) throw new ArgumentException("a DPO batch holds chosen then rejected rows: its size must be even");
        int n = batch.BatchSize / 2;
        var (refLp, _) = _reference.SequenceLogProbs(batch);
        var (lp, aux) = _policy.SequenceLogProbs(batch);
        var dz = new double[n];
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            double zi = Beta * ((lp[i] - lp[n + i]) - (refLp[i] - refLp[n + i]));
            // −log σ(z) = softplus(−z), computed without overflow; its derivative is −σ(−z).
            loss += zi > 0 ? Math.Log(1 + Math.Exp(-zi)) : -zi + Math.Log(1 + Math.Exp(zi));
            dz[i] = -1 / (1 + Math.Exp(zi));
        }
        return (loss / n, aux, dz);
    }
}

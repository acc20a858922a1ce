using System.Globalization;
using Minimind.Model;
using Minimind.Model.Data;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_distillation.py</c>: over the N target positions that are not ignored,
/// loss = α·(mean CE [+ MoE aux]) + (1−α)·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) with KL averaged
/// over those positions (kl_div 'batchmean'); the teacher (any generation this project loads, its logits cut
/// to the student's vocabulary) is frozen, the whole student trains. The loss and ∂loss/∂logits are formed on
/// the host in float64 from both models' logits.
/// </summary>
public sealed class DistillStage : ModelStage
{
    private readonly MiniMindModel _student, _teacher;

    /// <summary>MiniMind's α (weight of the CE part).</summary>
    public const double DefaultAlpha = 0.5;
    /// <summary>MiniMind's temperature.</summary>
    public const double DefaultTemperature = 1.5;

    /// <summary>α of the loss.</summary>
    public double Alpha { get; }
    /// <summary>Distillation temperature T.</summary>
    public double Temperature { get; }

    /// <summary>Distils <paramref name="teacher"/> into <paramref name="student"/> on <paramref name="data"/>.
    /// <paramref name="teacherId"/> (e.g. the SHA-256 of the teacher's file) joins the <see cref="Signature"/>, so a resume
    /// with another teacher is refused.</summary>
    public DistillStage(MiniMindModel student, MiniMindModel teacher, IPretrainSource data, double alpha = DefaultAlpha, double temperature = DefaultTemperature,
        string? teacherId = null)
        : base(student, data)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"--alpha must lie in [0, 1], got {alpha}");
        if (!(temperature > 0) || !double.IsFinite(temperature)) throw new ArgumentException($"--temperature must be positive, got {temperature}");
        if (teacher.Config.VocabSize < student.Config.VocabSize)
            throw new ArgumentException($"the teacher's vocabulary ({teacher.Config.VocabSize}) is smaller than the student's ({student.Config.VocabSize})");
        _student = student; _teacher = teacher; Alpha = alpha; Temperature = temperature;
        var signature = new List<KeyValuePair<string, string>>
        {
            new("stage", "distill"), new("alpha", alpha.ToString("R", CultureInfo.InvariantCulture)),
            new("temperature", temperature.ToString("R", CultureInfo.InvariantCulture)),
        };
        if (teacherId is not null) signature.Add(new("teacher", teacherId));
        Signature = signature;
    }

    /// <inheritdoc/>
    public override string Name => "distill";
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }

    /// <inheritdoc/>
    public override float ForwardBackward(Batch batch, float lossScale)
    {
        var (loss, dLogits) = Loss(batch, lossScale, wantGradient: true);
        _student.LogitsBackward(batch, dLogits!, (float)(Alpha * lossScale));
        return loss;
    }

    /// <inheritdoc/>
    public override float ForwardLoss(Batch batch) => Loss(batch, 1f, wantGradient: false).Loss;

    /// <summary>The loss (CE part with the student's aux loss when MoE) and, when asked, lossScale·∂loss/∂logits.</summary>
    public (float Loss, float[]? DLogits) Loss(Batch batch, float lossScale, bool wantGradient)
    {
        var (tl, _) = _teacher.ForwardLogits(batch);
        var (sl, aux) = _student.ForwardLogits(batch); // last, so the student's backward follows its forward
        int rows = batch.BatchSize * batch.SeqLen, v = _student.Config.VocabSize, vt = _teacher.Config.VocabSize;
        int n = 0;
        foreach (var y in batch.Targets) if (y != Batch.IgnoreIndex) n++;
        var ce = new double[rows];
        var kl = new double[rows];
        var dl = wantGradient ? new float[(long)rows * v] : null;
        double t = Temperature, a = Alpha;
        Parallel.For(0, rows, r =>
        {
            int y = batch.Targets[r];
            if (y == Batch.IgnoreIndex) return;
            var s = sl.AsSpan(r * v, v);
            var tt = tl.AsSpan(r * vt, v);
            double max = double.NegativeInfinity, maxS = double.NegativeInfinity, maxT = double.NegativeInfinity;
            for (int i = 0; i < v; i++) { max = Math.Max(max, s[i]); maxS = Math.Max(maxS, s[i] / t); maxT = Math.Max(maxT, tt[i] / t); }
            double z = 0, zs = 0, zt = 0;
            for (int i = 0; i < v; i++) { z += Math.Exp(s[i] - max); zs += Math.Exp(s[i] / t - maxS); zt += Math.Exp(tt[i] / t - maxT); }
            double lse = max + Math.Log(z), lseS = maxS + Math.Log(zs), lseT = maxT + Math.Log(zt);
            ce[r] = lse - s[y];
            double k = 0;
            for (int i = 0; i < v; i++)
            {
                double logP = tt[i] / t - lseT, logQ = s[i] / t - lseS, p = Math.Exp(logP);
                k += p * (logP - logQ);
                if (dl is not null)
                {
                    // α·(softmax(s) − onehot)/N + (1−α)·T·(softmax(s/T) − softmax(teacher/T))/N
                    double g = a * (Math.Exp(s[i] - lse) - (i == y ? 1 : 0)) + (1 - a) * t * (Math.Exp(logQ) - p);
                    dl[(long)r * v + i] = (float)(lossScale * g / n);
                }
            }
            kl[r] = k;
        });
        if (n == 0) return (0f, dl);
        double ceSum = 0, klSum = 0;
        for (int r = 0; r < rows; r++) { ceSum += ce[r]; klSum += kl[r]; }
        double ceLoss = ceSum / n + (_student.Config.UseMoe ? aux : 0);
        return ((float)(a * ceLoss + (1 - a) * t * t * klSum / n), dl);
    }
}

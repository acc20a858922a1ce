using System.Globalization;
using Minimind.Model;

namespace Minimind.Training.Distributed;

/// <summary>The named fields every rank of a job must agree on (compared by <see cref="RankAgreement"/>).</summary>
public static class RunFingerprint
{
    /// <summary>
    /// The recipe flags, the architecture, the data (count, shape, description and the tokens of the first
    /// and the last micro-batch of the run), the weights the run starts from and where it resumes.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> Of(TrainOptions o, TrainingState s, Batch first, Batch last, ReadOnlySpan<float> weights)
    {
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var list = new List<KeyValuePair<string, string>>
        {
            new("--seed", o.Seed.ToString(CultureInfo.InvariantCulture)),
            new("--epochs", o.Epochs.ToString(CultureInfo.InvariantCulture)),
            new("--batch-size", o.BatchSize.ToString(CultureInfo.InvariantCulture)),
            new("--accumulation-steps", s.AccumulationSteps.ToString(CultureInfo.InvariantCulture)),
            new("--learning-rate", F(o.LearningRate)),
            new("--grad-clip", F(o.GradClip)),
            new("--max-steps", o.MaxSteps?.ToString(CultureInfo.InvariantCulture) ?? "none"),
            new("--save-interval", o.SaveInterval.ToString(CultureInfo.InvariantCulture)),
            new("--out-dir", Path.GetFullPath(o.OutDir)),
            new("--save-weight", o.SaveWeight),
            new("--save-dtype", o.SaveDtype.ToString()),
            new("weight decay", F(o.WeightDecay)),
        };
        foreach (var kv in s.Arch) list.Add(new("architecture " + kv.Key, kv.Value));
        list.Add(new("data (--data)", s.DataDescription));
        list.Add(new("data size (--data, --max-seq-len)", $"{s.DataCount} samples of {s.SeqLen} tokens"));
        list.Add(new("data content (--data, --tokenizer)", RankAgreement.HashOf(first.Inputs) + RankAgreement.HashOf(first.Targets) + RankAgreement.HashOf(last.Inputs) + RankAgreement.HashOf(last.Targets)));
        list.Add(new("resume point (--resume, --resume-from)", $"step {s.OptimizerStep}, epoch {s.Epoch}, batch {s.MicroStepInEpoch}"));
        list.Add(new("starting weights (--seed, --from-weight, --resume)", RankAgreement.HashOf(weights)));
        return list;
    }
}

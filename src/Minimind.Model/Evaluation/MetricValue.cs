namespace Minimind.Model.Evaluation;

/// <summary>
/// A metric's mean and standard error as lm-evaluation-harness aggregates it: the mean over the items, the stderr
/// <c>sample_stddev / sqrt(n)</c> (n − 1 in the variance; none for one item), and for a group of subjects (C-Eval,
/// CMMLU) the size-weighted mean with lm-eval's <c>pooled_sample_stderr</c> of the subjects' stderrs.
/// </summary>
public readonly record struct MetricValue(double Mean, double? Stderr)
{
    /// <summary>Mean and stderr of per-item values (0 or 1 for accuracies), summed in item order.</summary>
    public static MetricValue Of(IReadOnlyList<double> xs)
    {
        if (xs.Count == 0) return new(double.NaN, null);
        double mu = 0;
        foreach (var x in xs) mu += x;
        mu /= xs.Count;
        if (xs.Count < 2) return new(mu, null);
        double ss = 0;
        foreach (var x in xs) ss += (x - mu) * (x - mu);
        return new(mu, Math.Sqrt(ss / (xs.Count - 1)) / Math.Sqrt(xs.Count));
    }

    /// <summary>lm-eval's group aggregate (weight_by_size): Σ size·mean / Σ size and the pooled stderr.</summary>
    public static MetricValue Pooled(IReadOnlyList<(MetricValue Value, int Size)> parts)
    {
        if (parts.Count == 1) return parts[0].Value;
        double n = parts.Sum(p => (double)p.Size);
        double mean = parts.Sum(p => p.Value.Mean * p.Size) / n;
        if (n - parts.Count <= 0) return new(mean, null);
        double pooled = parts.Sum(p => (p.Size - 1) * Math.Pow(p.Value.Stderr ?? 0, 2) * p.Size) / (n - parts.Count);
        return new(mean, Math.Sqrt(pooled / n));
    }
}

namespace Minimind.Model.Evaluation;

/// <summary>acc and acc_norm of a set of scored questions (one subject, or a group of them).</summary>
/// <param name="Name">The task or subject.</param>
/// <param name="Count">Questions scored.</param>
/// <param name="Acc">acc.</param>
/// <param name="AccNorm">acc_norm (per character).</param>
/// <param name="AccBytes">acc_bytes (per UTF-8 byte), which lm-eval reports only for tasks that list it.</param>
public sealed record McSummary(string Name, int Count, MetricValue Acc, MetricValue AccNorm, MetricValue AccBytes)
{
    /// <summary>The summary of <paramref name="results"/> (all of one subject).</summary>
    public static McSummary Of(string name, IReadOnlyList<McResult> results) => new(name, results.Count,
        MetricValue.Of(results.Select(r => r.Acc).ToList()), MetricValue.Of(results.Select(r => r.AccNorm).ToList()),
        MetricValue.Of(results.Select(r => r.AccBytes).ToList()));

    /// <summary>A group's summary from its subjects' (lm-eval's aggregate_metric_list with weight_by_size).</summary>
    public static McSummary Group(string name, IReadOnlyList<McSummary> parts) => new(name, parts.Sum(p => p.Count),
        MetricValue.Pooled(parts.Select(p => (p.Acc, p.Count)).ToList()), MetricValue.Pooled(parts.Select(p => (p.AccNorm, p.Count)).ToList()),
        MetricValue.Pooled(parts.Select(p => (p.AccBytes, p.Count)).ToList()));
}

using Minimind.Plots;

namespace Minimind.Training;

/// <summary>
/// One metric of several runs on one chart (<c>minimind plot A B ...</c>): each run's line labelled by its folder and
/// the flags whose values differ between the runs, read from their resume states, so "bf16 vs fp32" or "W=1 vs W=2"
/// reads off the legend.
/// </summary>
public static class RunsPlot
{
    /// <summary>The metrics <c>--metric</c> accepts (fields of the metrics jsonl).</summary>
    public static IReadOnlyList<string> Metrics { get; } = new[] { "loss", "val_loss", "reward", "tokens_per_s", "grad_norm", "lr" };

    /// <summary>The y axis label of <paramref name="metric"/>.</summary>
    public static string MetricLabel(string metric) => metric switch
    {
        "loss" => "training loss",
        "val_loss" => "validation loss",
        "reward" => "reward (mean per step)",
        "tokens_per_s" => "tokens/s",
        "grad_norm" => "grad norm",
        "lr" => "learning rate",
        _ => metric,
    };

    /// <summary>A run read for a comparison: where it is, its metrics, its resume state (null when it has none).</summary>
    public sealed record Loaded(RunOnDisk Run, MetricsHistory Metrics, TrainingState? State);

    /// <summary>The chart, the legend labels in run order, and notes for the user (runs left out and why).</summary>
    public sealed record Result(RunComparison Chart, IReadOnlyList<string> Labels, IReadOnlyList<string> Notes);

    /// <summary>Reads each run's metrics and newest resume state.</summary>
    public static IReadOnlyList<Loaded> Load(IEnumerable<RunOnDisk> runs) =>
        runs.Select(r => new Loaded(r, MetricsHistory.Read(r.MetricsPath), RunFlags.ReadNewestState(r.CheckpointRoot))).ToList();

    /// <summary>
    /// Legend labels: "folder: flag=value, ..." with exactly the flags whose values differ between the runs that have a
    /// resume state ("folder (no resume state)" for one without; "folder" alone when nothing differs).
    /// </summary>
    public static IReadOnlyList<string> Labels(IReadOnlyList<Loaded> runs)
    {
        var flags = runs.Select(r => r.State is null ? null : RunFlags.Of(r.State)).ToList();
        var differing = RunFlags.Differing(flags.Where(f => f is not null).Select(f => f!).ToList());
        return runs.Select((r, i) =>
        {
            if (flags[i] is not { } f) return r.Run.Label + (runs.Count > 1 ? " (no resume state)" : "");
            var map = f.GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            var parts = differing.Select(d => $"{d}={(map.TryGetValue(d, out var v) ? v : "(absent)")}").ToList();
            return parts.Count == 0 ? r.Run.Label : $"{r.Run.Label}: {string.Join(", ", parts)}";
        }).ToList();
    }

    /// <summary>Builds the comparison of <paramref name="metric"/>; throws an ArgumentException naming the metric when no run logged it.</summary>
    public static Result Compare(IReadOnlyList<Loaded> runs, string metric, PlotAxis axis)
    {
        var labels = Labels(runs);
        var notes = new List<string>();
        var lines = new List<LabelledCurve>();
        for (int i = 0; i < runs.Count; i++)
        {
            var (x, y) = runs[i].Metrics.Series(metric, axis);
            if (x.Length == 0) { notes.Add($"{runs[i].Run.Label} ({runs[i].Run.MetricsPath}) logged no {metric}: left out"); continue; }
            lines.Add(new LabelledCurve(labels[i], new Curve(x, y)));
        }
        if (lines.Count == 0)
        {
            var logged = runs.SelectMany(r => r.Metrics.Steps.SelectMany(s => s.Values.Keys)).Distinct().Where(k => k != MetricsHistory.TimeKey).Order();
            throw new ArgumentException($"no run logged {metric} (these runs' metrics files hold: {string.Join(", ", logged)})");
        }
        var archs = runs.Where(r => r.State is not null).Select(r => RunFlags.DescribeArch(r.State!.Arch)).Distinct().ToList();
        string title = MetricLabel(metric) + (archs.Count == 1 && archs[0].Length > 0 ? " · " + archs[0] : "");
        var chart = new RunComparison
        {
            Title = title,
            XLabel = MetricsHistory.AxisLabel(axis),
            YLabel = MetricLabel(metric),
            IntegerX = axis != PlotAxis.Time,
            Smooth = metric is "loss" or "reward" or "grad_norm",
            Runs = lines,
        };
        return new Result(chart, labels, notes);
    }
}

using System.Globalization;
using System.Text.Json;

namespace Minimind.Training;

/// <summary>What a chart's x axis counts: optimizer steps, tokens trained on, or training wall time.</summary>
public enum PlotAxis
{
    /// <summary>Optimizer steps.</summary>
    Step,
    /// <summary>Tokens with a target trained on so far (the jsonl's <c>tokens</c>).</summary>
    Tokens,
    /// <summary>Seconds of training, summed over the processes whose work was kept (downtime between a kill and the resume is not counted).</summary>
    Time,
}

/// <summary>The numbers one optimizer step logged (loss, lr, grad_norm, tokens, val_loss, reward, ...), merged over its lines.</summary>
public sealed record StepMetrics(long Step, IReadOnlyDictionary<string, double> Values)
{
    /// <summary>The value of <paramref name="name"/>, or null when this step did not log it.</summary>
    public double? this[string name] => Values.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A run's metrics jsonl (<see cref="MetricsLog"/>) read back as one run: each optimizer step once, with the
/// values of the process that kept it. A <c>start</c> or <c>resume</c> event at step S discards everything
/// logged above S before it (that work was lost in a kill and re-run), so a resumed run plots each step once, with
/// the resumed run's value, even when the writer could not drop the lost lines itself. Lines cut short by a kill
/// are skipped. Per-process <c>elapsed_s</c> becomes a cumulative <see cref="TimeKey"/>.
/// </summary>
public sealed class MetricsHistory
{
    /// <summary>The derived cumulative training-time field (seconds) of each step that logged <c>elapsed_s</c>.</summary>
    public const string TimeKey = "training_s";

    /// <summary>The file read.</summary>
    public string Path { get; }
    /// <summary>Every step that logged a number, ascending.</summary>
    public IReadOnlyList<StepMetrics> Steps { get; }
    /// <summary>Steps whose update was skipped (non-finite loss or gradients), ascending.</summary>
    public IReadOnlyList<long> Skipped { get; }
    /// <summary>Lines that were not JSON objects (a line cut short by a kill), skipped.</summary>
    public int UnreadableLines { get; }

    private MetricsHistory(string path, IReadOnlyList<StepMetrics> steps, IReadOnlyList<long> skipped, int unreadable)
    {
        Path = path; Steps = steps; Skipped = skipped; UnreadableLines = unreadable;
    }

    /// <summary>Reads <paramref name="path"/> (it may still be open for appending by a running trainer).</summary>
    public static MetricsHistory Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no metrics file {path} (a run writes it as <out-dir>/checkpoints/<run>_metrics.jsonl)", path);
        var steps = new SortedDictionary<long, Dictionary<string, double>>();
        var skipped = new SortedSet<long>();
        int unreadable = 0;
        double offset = 0; // training seconds of earlier processes whose steps were kept
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(fs);
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            if (line.Length == 0) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { unreadable++; continue; }
            using (doc)
            {
                var o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object || !TryNumber(o, "step", out double stepValue)) { if (o.ValueKind != JsonValueKind.Object) unreadable++; continue; }
                long step = (long)stepValue;
                if (o.TryGetProperty("event", out var ev) && ev.ValueKind == JsonValueKind.String)
                {
                    switch (ev.GetString())
                    {
                        case "start" or "resume":
                            // Work above the starting step belongs to a process whose state was never saved: it was re-run.
                            foreach (var lost in steps.Keys.Where(k => k > step).ToList()) steps.Remove(lost);
                            skipped.RemoveWhere(k => k > step);
                            offset = steps.Values.Select(v => v.GetValueOrDefault(TimeKey)).DefaultIfEmpty(0).Max();
                            break;
                        case "skipped": skipped.Add(step); break;
                    }
                    continue;
                }
                if (!steps.TryGetValue(step, out var values)) steps[step] = values = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var p in o.EnumerateObject())
                {
                    if (p.NameEquals("step") || !TryNumber(p.Value, out double v)) continue;
                    values[p.Name] = v; // a later line of the same step (the re-run) wins
                    if (p.NameEquals("elapsed_s")) values[TimeKey] = offset + v;
                }
            }
        }
        return new MetricsHistory(path, steps.Select(kv => new StepMetrics(kv.Key, kv.Value)).ToList(), skipped.ToList(), unreadable);
    }

    /// <summary>True when some step logged <paramref name="metric"/>.</summary>
    public bool Has(string metric) => Steps.Any(s => s.Values.ContainsKey(metric));

    /// <summary>
    /// (x, value) of every step that logged <paramref name="metric"/>, ascending. A step that logged the metric but
    /// not the x field (a validation line without <c>tokens</c>) gets its x interpolated between the steps around it.
    /// </summary>
    public (double[] X, double[] Y) Series(string metric, PlotAxis axis)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        var x = XMap(axis);
        foreach (var s in Steps)
            if (s[metric] is { } v) { xs.Add(x(s.Step)); ys.Add(v); }
        return (xs.ToArray(), ys.ToArray());
    }

    /// <summary>The x of each skipped step on <paramref name="axis"/>.</summary>
    public double[] SkippedX(PlotAxis axis)
    {
        var x = XMap(axis);
        return Skipped.Select(s => x(s)).ToArray();
    }

    /// <summary>
    /// Step → x on <paramref name="axis"/>: the step itself, or piecewise-linear through the steps that logged the x
    /// field (with step 0 at 0), extended past the ends with the nearest segment's slope.
    /// </summary>
    public Func<long, double> XMap(PlotAxis axis)
    {
        if (axis == PlotAxis.Step) return s => s;
        string key = axis == PlotAxis.Tokens ? "tokens" : TimeKey;
        var anchors = Steps.Where(s => s[key] is { } v && double.IsFinite(v)).Select(s => (Step: (double)s.Step, X: s[key]!.Value)).ToList();
        if (anchors.Count == 0 || anchors[0].Step > 0) anchors.Insert(0, (0, 0));
        return step =>
        {
            double s = step;
            int i = anchors.FindIndex(a => a.Step >= s);
            if (i >= 0 && anchors[i].Step == s) return anchors[i].X;
            if (anchors.Count == 1) return anchors[0].X;
            // i < 0: past the last anchor; i == 0: before the first (only when step < 0): extend the nearest segment.
            var (a, b) = i < 0 ? (anchors[^2], anchors[^1]) : i == 0 ? (anchors[0], anchors[1]) : (anchors[i - 1], anchors[i]);
            return a.X + (b.X - a.X) * (s - a.Step) / (b.Step - a.Step);
        };
    }

    /// <summary>The x axis label for <paramref name="axis"/>.</summary>
    public static string AxisLabel(PlotAxis axis) => axis switch
    {
        PlotAxis.Step => "optimizer step",
        PlotAxis.Tokens => "tokens trained on",
        _ => "training time (s, summed over the kept processes)",
    };

    /// <summary>Parses <c>step|tokens|time</c> (the --plot-x and --x values).</summary>
    public static PlotAxis ParseAxis(string text) => text switch
    {
        "step" => PlotAxis.Step,
        "tokens" => PlotAxis.Tokens,
        "time" => PlotAxis.Time,
        _ => throw new ArgumentException($"x axis '{text}' is not one of: step, tokens, time"),
    };

    private static bool TryNumber(JsonElement o, string name, out double v)
    {
        v = 0;
        return o.TryGetProperty(name, out var e) && TryNumber(e, out v);
    }

    // MetricsLog writes non-finite floats as strings ("NaN", "Infinity"): they read back as numbers.
    private static bool TryNumber(JsonElement e, out double v)
    {
        v = 0;
        if (e.ValueKind == JsonValueKind.Number) return e.TryGetDouble(out v);
        return e.ValueKind == JsonValueKind.String && e.GetString() is { } s
            && s is "NaN" or "Infinity" or "-Infinity" && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v);
    }
}

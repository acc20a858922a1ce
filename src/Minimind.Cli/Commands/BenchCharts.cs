using System.Globalization;
using System.Text.RegularExpressions;
using Minimind.Plots;

namespace Minimind.Cli.Commands;

/// <summary>
/// The --plot charts of <c>bench train</c> and <c>kernels bench</c>: the figures a run printed, beside the same figures
/// of each --baseline (a saved output of the baseline it was run beside: tools/training/bench_torch.py or another
/// <c>bench train</c> for training, another <c>kernels bench</c> for kernels). Ours and the baselines are read by
/// the same parser, from the text each printed, so the chart shows exactly the printed figures.
/// </summary>
public static partial class BenchCharts
{
    /// <summary>The <c>--baseline</c> option of both commands.</summary>
    public static CliOption<string?> BaselineOption(string what) => Opt.String("baseline", "[LABEL=]FILE,...", null,
        $"with --plot: saved outputs of the baselines this run was measured beside ({what}), drawn beside ours; LABEL defaults to the file name").Sample("torch=t.log");

    /// <summary>The <c>--plot</c> option of both commands.</summary>
    public static CliOption<string?> PlotOption() => Opt.String("plot", "F.png|F.svg", null, "also draw the printed figures as a bar chart (ours vs each --baseline) to F")
        .Check(p => p is null || p.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".svg", StringComparison.OrdinalIgnoreCase), "must end in .png or .svg").Sample("bench.svg");

    /// <summary>Throws a UsageException when --baseline is given without --plot.</summary>
    public static void CheckPair(string? plot, string? baseline)
    {
        if (baseline is not null && plot is null) throw new UsageException("--baseline is drawn beside ours in the --plot chart: add --plot F.png|F.svg");
    }

    /// <summary>(label, text) of each "[LABEL=]FILE" in <paramref name="spec"/>; throws a FileNotFoundException naming a missing file.</summary>
    public static IReadOnlyList<(string Label, string Text)> ReadBaselines(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) return Array.Empty<(string, string)>();
        return spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(item =>
        {
            int eq = item.IndexOf('=');
            string path = eq > 0 ? item[(eq + 1)..] : item, label = eq > 0 ? item[..eq] : Path.GetFileNameWithoutExtension(item);
            if (!File.Exists(path)) throw new FileNotFoundException($"--baseline {item}: no file {path}", path);
            return (label, File.ReadAllText(path));
        }).ToList();
    }

    // ---- bench train ------------------------------------------------------------------------------------------

    /// <summary>
    /// The figures of a <c>bench train</c> output (or bench_torch.py's): tokens/s and assistant-tokens/s (higher is better),
    /// mean step time, checkpoint write and resume latency in seconds (lower is better). Absent figures are left out.
    /// </summary>
    public static Dictionary<string, double> TrainFigures(string text)
    {
        var f = new Dictionary<string, double>(StringComparer.Ordinal);
        void Take(Regex r, string name) { if (r.Matches(text) is { Count: > 0 } m) f[name] = double.Parse(m[^1].Groups[1].Value, CultureInfo.InvariantCulture); }
        Take(TokensPerS(), "tokens/s");
        Take(AssistantTokensPerS(), "assistant-tokens/s");
        Take(StepMean(), "step time (mean)");
        Take(TorchStep(), "step time (mean)");
        Take(CheckpointWrite(), "checkpoint write");
        Take(Resume(), "resume (verify + load)");
        return f;
    }

    /// <summary>The bar chart of <paramref name="ours"/> (a <c>bench train</c> output) beside the baselines.</summary>
    public static BarChartData TrainChart(string title, string oursLabel, string ours, IReadOnlyList<(string Label, string Text)> baselines)
    {
        var all = new[] { TrainFigures(ours) }.Concat(baselines.Select(b => TrainFigures(b.Text))).ToList();
        for (int i = 0; i < baselines.Count; i++)
            if (all[i + 1].Count == 0) throw new InvalidDataException($"--baseline {baselines[i].Label}: no figure found (expected a 'tokens/s: N' line as bench train and bench_torch.py print)");
        BarPanel? Panel(string unit, params string[] names)
        {
            var shown = names.Where(n => all[0].ContainsKey(n)).ToList();
            return shown.Count == 0 ? null : new BarPanel(unit, shown, shown.Select(n => (IReadOnlyList<double?>)all.Select(f => f.TryGetValue(n, out var v) ? v : (double?)null).ToList()).ToList());
        }
        var panels = new[] { Panel("tokens/s (higher is better)", "tokens/s", "assistant-tokens/s"), Panel("seconds (lower is better)", "step time (mean)", "checkpoint write", "resume (verify + load)") };
        return new BarChartData { Title = title, Series = new[] { oursLabel }.Concat(baselines.Select(b => b.Label)).ToList(), Panels = panels.OfType<BarPanel>().ToList() };
    }

    // ---- kernels bench ----------------------------------------------------------------------------------------

    /// <summary>A <c>kernels bench</c> row: op, shape, dtype and throughput with its unit (TFLOP/s or GB/s).</summary>
    public sealed record KernelRow(string Op, string Shape, string Dtype, double Throughput, string Unit);

    /// <summary>The rows of every <c>| op | shape | dtype | ms/call | throughput |</c> table in <paramref name="text"/>.</summary>
    public static IReadOnlyList<KernelRow> KernelRows(string text)
    {
        var rows = new List<KernelRow>();
        foreach (var t in MarkdownTable.All(text))
        {
            if (t.Header.Count < 5 || MarkdownTable.Plain(t.Header[0]) != "op" || MarkdownTable.Plain(t.Header[4]) != "throughput") continue;
            for (int r = 0; r < t.Rows.Count; r++)
            {
                var cell = t.Cell(r, 4);
                if (MarkdownTable.Number(cell) is not { } v) continue;
                rows.Add(new KernelRow(t.Cell(r, 0), t.Cell(r, 1), t.Cell(r, 2), v, cell.Contains("TFLOP/s", StringComparison.Ordinal) ? "TFLOP/s" : "GB/s"));
            }
        }
        return rows;
    }

    /// <summary>
    /// The bar chart of <paramref name="ours"/> (a <c>kernels bench</c> output) beside the baselines: each op's throughput, TFLOP/s
    /// and GB/s ops in their own panels; a baseline row counts for ours when op and shape match (its dtype too, where it has that dtype).
    /// </summary>
    public static BarChartData KernelsChart(string title, string oursLabel, string ours, IReadOnlyList<(string Label, string Text)> baselines)
    {
        var mine = KernelRows(ours);
        var theirs = baselines.Select(b => KernelRows(b.Text)).ToList();
        for (int i = 0; i < baselines.Count; i++)
            if (theirs[i].Count == 0) throw new InvalidDataException($"--baseline {baselines[i].Label}: no '| op | shape | dtype | ms/call | throughput |' table found (save a kernels bench output)");
        var panels = new List<BarPanel>();
        foreach (var unit in new[] { "TFLOP/s", "GB/s" })
        {
            var rows = mine.Where(r => r.Unit == unit).ToList();
            if (rows.Count == 0) continue;
            var values = rows.Select(r => (IReadOnlyList<double?>)new double?[] { r.Throughput }.Concat(theirs.Select(t =>
            {
                var same = t.Where(b => b.Op == r.Op && b.Shape == r.Shape && b.Unit == unit).ToList();
                return (same.FirstOrDefault(b => b.Dtype == r.Dtype) ?? same.FirstOrDefault())?.Throughput;
            })).ToList()).ToList();
            panels.Add(new BarPanel(unit + " (higher is better)", rows.Select(r => r.Shape.Length > 0 ? $"{r.Op}  {r.Shape}" : r.Op).ToList(), values));
        }
        if (panels.Count == 0) throw new InvalidDataException("kernels bench printed no timed op to chart (--op matched nothing?)");
        return new BarChartData { Title = title, Series = new[] { oursLabel }.Concat(baselines.Select(b => b.Label)).ToList(), Panels = panels };
    }

    [GeneratedRegex(@"^tokens/s: ([0-9.]+)", RegexOptions.Multiline)] private static partial Regex TokensPerS();
    [GeneratedRegex(@"^assistant-tokens/s: ([0-9.]+)", RegexOptions.Multiline)] private static partial Regex AssistantTokensPerS();
    [GeneratedRegex(@"^step time: mean ([0-9.]+) s", RegexOptions.Multiline)] private static partial Regex StepMean();
    [GeneratedRegex(@"timed steps: ([0-9.]+) s/step", RegexOptions.Multiline)] private static partial Regex TorchStep();
    [GeneratedRegex(@"^checkpoint write: ([0-9.]+) s", RegexOptions.Multiline)] private static partial Regex CheckpointWrite();
    [GeneratedRegex(@"^resume latency \(verify checksums \+ load\): ([0-9.]+) s", RegexOptions.Multiline)] private static partial Regex Resume();
}

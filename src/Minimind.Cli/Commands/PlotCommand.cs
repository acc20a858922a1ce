using Minimind.Plots;
using Minimind.Training;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind plot RUN_OR_METRICS... [--metric M] [--x step|tokens|time] [--out F.png|F.svg]</c>: one run's training
/// chart, or one metric of several runs on one chart labelled by the flags that differ between them.
/// </summary>
public sealed class PlotCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "plot";

    /// <inheritdoc/>
    public string Summary => "Chart a run's training curves, or compare runs (bf16 vs fp32, W=1 vs W=2) on one chart, as PNG or SVG";

    /// <summary><c>--metric</c>.</summary>
    public static readonly CliOption<string?> Metric = Opt.ChoiceOrNull("metric",
        "the metrics-jsonl field to compare; with one run and no --metric the whole training chart is drawn", RunsPlot.Metrics.ToArray())
        .DefaultIs("loss; one run: its training chart");
    /// <summary><c>--x</c>.</summary>
    public static readonly CliOption<string> X = Opt.Choice("x", "step", "x axis: optimizer steps, tokens trained on, or training time (seconds summed over the processes whose work was kept)",
        "step", "tokens", "time");
    /// <summary><c>--out</c>.</summary>
    public static readonly CliOption<string?> Out = Opt.String("out", "F.png|F.svg", null, "the image to write; the extension picks PNG or SVG")
        .DefaultIs("plot_<metric>.png").Sample("runs.svg");

    /// <summary><c>--table</c>.</summary>
    public static readonly CliOption<string?> TableFile = Opt.String("table", "FILE.md", null,
        "instead of runs: draw a markdown table of FILE (docs/benchmarks.md, a GPU session's report) as grouped bars").Sample("docs/benchmarks.md");
    /// <summary><c>--section</c>.</summary>
    public static readonly CliOption<string?> Section = Opt.String("section", "TEXT", null, "--table: the first table under the first heading containing TEXT")
        .DefaultIs("the file's first table").Sample("Checkpoint I/O");
    /// <summary><c>--index</c>.</summary>
    public static readonly CliOption<int> Index = Opt.Int("index", "N", 1, "--table: the N-th table under that heading").AtLeast(1);
    /// <summary><c>--columns</c>.</summary>
    public static readonly CliOption<string?> Columns = Opt.String("columns", "A,B,...", null, "--table: the columns drawn as series, by header")
        .DefaultIs("every column whose cells are all numbers").Sample("C# tokens/s,torch 2.6 tokens/s");
    /// <summary><c>--label</c>.</summary>
    public static readonly CliOption<string?> Label = Opt.String("label", "COLUMN", null, "--table: the column naming each bar group").DefaultIs("the first column").Sample("run");
    /// <summary><c>--title</c>.</summary>
    public static readonly CliOption<string?> Title = Opt.String("title", "TEXT", null, "chart title").DefaultIs("the table's heading; for runs, the metric and shared architecture").Sample("tokens/s");
    /// <summary><c>--unit</c>.</summary>
    public static readonly CliOption<string?> Unit = Opt.String("unit", "TEXT", null, "--table: the value axis label").DefaultIs("value").Sample("tokens/s (higher is better)");

    /// <summary>Everything <c>minimind plot</c> accepts.</summary>
    public static readonly OptionTable Table = new("plot",
        new[]
        {
            "plot RUN_OR_METRICS... [--metric loss|val_loss|reward|tokens_per_s|grad_norm|lr] [--x step|tokens|time] [--out F.png|F.svg]",
            "plot --table FILE.md [--section TEXT] [--index N] [--columns A,B] [--label COLUMN] [--unit TEXT] [--title TEXT] [--out F.png|F.svg]",
        },
        """
        Draws charts from what runs wrote to disk (any time, also while they train): each RUN_OR_METRICS is a run's
        --out-dir (every run under its checkpoints/), a checkpoint folder out/checkpoints/<run> (or one of its step
        folders), or a <run>_metrics.jsonl.
        One run without --metric: its training chart, as 'train --plot' writes it at every save (loss raw and
        smoothed, validation loss, learning rate on a second axis, grad norm with the clip threshold, skipped
        updates, RL reward; titled with the run name, architecture and dtype).
        Several runs, or --metric: that metric of every run on one chart, each line labelled by its folder and the
        flags whose values differ between the runs, read from their newest resume state (dtype, W = world size,
        batch-size, learning-rate, seq-len, dim, ...), so 'bf16 vs fp32' or 'W=1 vs W=2' reads off the legend.
        A run resumed after a kill logged the steps after its last checkpoint twice; each step is drawn once, with
        the resumed run's value.
        --table draws a markdown table's figures instead (each row a group of bars, each chosen column a series):
        how docs/benchmarks.md's charts are made from its tables.
        """,
        new[] { new OptionGroup("Options", Metric, X, Out, Title), new OptionGroup("Markdown tables", TableFile, Section, Index, Columns, Label, Unit) },
        new[]
        {
            "plot out                                       # out's run: its training chart, plot_loss.png",
            "plot runs/bf16 runs/fp32 --out dtype.svg      # legend: runs/bf16: dtype=bf16 / runs/fp32: dtype=fp32",
            "plot runs/w1 runs/w2 --metric tokens_per_s --x time",
            "plot out/checkpoints/pretrain_512_metrics.jsonl --x tokens --out loss.png",
            "plot --table docs/benchmarks.md --section 'CPU attention' --index 3 --columns 'C# tokens/s,torch 2.6 tokens/s' --out t.svg",
        });

    /// <inheritdoc/>
    public OptionTable Options => Table;

    /// <summary>What one <c>minimind plot</c> command line asks for. <see cref="Inputs"/> joins the paths with newlines (a record compares it by value).</summary>
    public sealed record Settings(string Inputs, string? Metric, PlotAxis X, string Out, string? Title = null, TableSettings? Table = null);

    /// <summary>The --table mode's choices (<see cref="Columns"/> as given, comma-separated).</summary>
    public sealed record TableSettings(string File, string? Section, int Index, string? Columns, string? Label, string? Unit);

    /// <summary>Binds and validates a command line.</summary>
    public static Settings Bind(ArgParser args)
    {
        var title = args.Get(Title);
        if (args.Get(TableFile) is { } file)
        {
            if (args.PositionalOrNull() is { } extra) throw new UsageException($"--table draws a markdown table, not runs: drop '{extra}'");
            var table = new TableSettings(file, args.Get(Section), args.Get(Index), args.Get(Columns), args.Get(Label), args.Get(Unit));
            var s1 = new Settings("", null, PlotAxis.Step, CheckedOut(args.Get(Out) ?? "plot_table.png"), title, table);
            args.EnsureAllUsed();
            return s1;
        }
        var inputs = new List<string> { args.Positional("RUN_OR_METRICS (a run's --out-dir, checkpoint folder or metrics jsonl), or --table FILE.md") };
        while (args.PositionalOrNull() is { } more) inputs.Add(more);
        var metric = args.Get(Metric);
        var s = new Settings(string.Join('\n', inputs), metric, MetricsHistory.ParseAxis(args.Get(X)), CheckedOut(args.Get(Out) ?? $"plot_{metric ?? "loss"}.png"), title);
        args.EnsureAllUsed();
        return s;
    }

    private static string CheckedOut(string path)
    {
        try { ChartFile.FormatOf(path); }
        catch (ArgumentException e) { throw new UsageException("--out " + e.Message); }
        return path;
    }

    /// <inheritdoc/>
    public int Run(ArgParser args)
    {
        var s = Bind(args);
        if (s.Table is { } t) return DrawTable(s, t);
        var runs = RunsPlot.Load(s.Inputs.Split('\n').SelectMany(RunOnDisk.Find).ToList());
        foreach (var r in runs.Where(r => r.Metrics.UnreadableLines > 0))
            Console.Error.WriteLine($"note: {r.Run.MetricsPath}: {r.Metrics.UnreadableLines} line(s) cut short (a kill mid-write) were skipped");
        if (runs.Count == 1 && s.Metric is null)
        {
            var r = runs[0];
            var curves = TrainingPlot.Curves(r.Metrics, s.X, s.Title ?? TrainingPlot.Title(r.Run.RunName, r.State), r.State?.GradClip ?? 0);
            if (!curves.Loss.HasValues && !curves.Reward.HasValues)
                throw new InvalidDataException($"{r.Run.MetricsPath} holds no logged step yet (a run logs its first step, then every --log-interval steps)");
            TrainingChart.Save(curves, s.Out);
            Console.WriteLine($"wrote {s.Out}: {curves.Title}, {curves.Loss.Count} logged steps, x = {MetricsHistory.AxisLabel(s.X)}");
            return 0;
        }
        var result = RunsPlot.Compare(runs, s.Metric ?? "loss", s.X);
        if (s.Title is not null) result = result with { Chart = result.Chart with { Title = s.Title } };
        foreach (var n in result.Notes) Console.Error.WriteLine("note: " + n);
        ComparisonChart.Save(result.Chart, s.Out);
        Console.WriteLine($"wrote {s.Out}: {result.Chart.Title}, x = {MetricsHistory.AxisLabel(s.X)}");
        foreach (var line in result.Chart.Runs) Console.WriteLine($"  {line.Label} ({line.Points.Count} points)");
        return 0;
    }

    private static int DrawTable(Settings s, TableSettings t)
    {
        if (!File.Exists(t.File)) throw new FileNotFoundException($"--table {t.File}: no such file", t.File);
        var table = TableBars.Find(File.ReadAllText(t.File), t.Section, t.Index);
        var columns = t.Columns?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? Array.Empty<string>();
        var data = TableBars.From(table, columns, t.Label, s.Title ?? MarkdownTable.Plain(table.Heading), t.Unit ?? "value");
        BarChart.Save(data, s.Out);
        Console.WriteLine($"wrote {s.Out}: '{table.Heading}', {data.Panels[0].Categories.Count} rows x {data.Series.Count} series ({string.Join(", ", data.Series)})");
        return 0;
    }
}

using System.Globalization;
using Minimind.Plots;
using Minimind.Training;

namespace Minimind.Training.Tests;

/// <summary>
/// The charts rendered from data: SVGs parsed as XML (title, axis labels, tick values, legend, one line per series),
/// PNGs decoded by the tests' own decoder, and the metrics reading that feeds them (a resumed run's steps once).
/// </summary>
public class ChartTests
{
    private const string Blue = "#1f77b4", Red = "#d62728";

    private static string L(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>A 100-step run: loss 6 → 2 linearly, cosine lr, grad norm, validation every 20 steps, step 50 skipped.</summary>
    private static string WriteRun(TempDir d, bool reward = false)
    {
        var lines = new List<string> { """{"event":"start","step":0,"total_steps":100,"device":"cpu"}""" };
        for (int s = 1; s <= 100; s++)
        {
            double loss = 6 - 4.0 * s / 100, lr = 5e-4 * (0.1 + 0.45 * (1 + Math.Cos(Math.PI * s / 100)));
            lines.Add(L($$"""{"step":{{s}},"epoch":0,"loss":{{loss}},"lr":{{lr}},"grad_norm":{{0.5 + s / 200.0}},"tokens":{{s * 1000}},"tokens_per_s":900,"elapsed_s":{{s * 0.5}}{{(reward ? L($",\"reward\":{s / 100.0}") : "")}}}"""));
            if (s % 20 == 0) lines.Add(L($$"""{"step":{{s}},"val_loss":{{loss + 0.3}}}"""));
            if (s == 50) lines.Add("""{"event":"skipped","step":50}""");
        }
        lines.Add("""{"event":"end","step":100}""");
        var path = Path.Combine(d.Path, "run_metrics.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static TrainingCurves Curves(string metrics, PlotAxis axis = PlotAxis.Step) =>
        TrainingPlot.Curves(MetricsHistory.Read(metrics), axis, "pretrain_512 · minimind-v1, dim 512, 8 layers · bf16", 1.0);

    private static byte[] Render(TrainingCurves c, ChartFormat f)
    {
        var (chart, w, h) = TrainingChart.Build(c);
        return ChartFile.Render(chart, w, h, f);
    }

    [Fact]
    public void TrainingChartSvg_HasTitleAxisLabelsTicksLegendAndEveryLoggedStep()
    {
        using var d = new TempDir();
        var svg = new SvgChart(Render(Curves(WriteRun(d)), ChartFormat.Svg));
        Assert.Equal((1000, 3 * 230 + 40), svg.Size);
        Assert.Single(svg.Texts, "pretrain_512 · minimind-v1, dim 512, 8 layers · bf16");
        foreach (var label in new[] { "optimizer step", "loss", "learning rate", "grad norm" }) Assert.Contains(label, svg.Texts);
        foreach (var legend in new[] { "loss", "loss, mean of the last 2 logged steps", "validation loss", "skipped update (1)", "learning rate (right axis)", "clip threshold (--grad-clip 1)" })
            Assert.Contains(legend, svg.Texts);
        // Ticks, derived from the data: steps 1..100 at 5, 10 or 20 per tick; loss 2..6; lr 5e-5..5e-4 in scientific notation.
        foreach (var tick in new[] { "20", "40", "60", "80", "100", "3", "4", "5" }) Assert.Contains(tick, svg.Texts);
        Assert.Contains(svg.Texts, t => t.EndsWith("e-4", StringComparison.Ordinal));
        // The raw loss: one faint line through all 100 logged steps, left to right; its smoothed line opaque on top.
        var raw = Assert.Single(svg.Lines, l => string.Equals(l.Stroke, Blue, StringComparison.OrdinalIgnoreCase) && l.Opacity < 1);
        Assert.Equal(100, raw.Points.Count);
        Assert.True(raw.Points.Zip(raw.Points.Skip(1)).All(p => p.Second.X > p.First.X), "the loss line goes back in x");
        Assert.Equal(100, Assert.Single(svg.OpaqueLines(Blue)).Count);
        Assert.Equal(5, Assert.Single(svg.OpaqueLines(Red)).Count); // validation at 20, 40, 60, 80, 100
        Assert.DoesNotContain("reward (mean per step)", svg.Texts);
    }

    [Fact]
    public void TrainingChart_AddsARewardPanelForRlRuns_AndLabelsTheTokenAxis()
    {
        using var d = new TempDir();
        var svg = new SvgChart(Render(Curves(WriteRun(d, reward: true), PlotAxis.Tokens), ChartFormat.Svg));
        Assert.Equal((1000, 4 * 230 + 40), svg.Size);
        Assert.Contains("reward (mean per step)", svg.Texts);
        Assert.Contains("tokens trained on", svg.Texts);
        Assert.Contains("100k", svg.Texts); // 100 steps of 1000 tokens
    }

    [Fact]
    public void TrainingChartPng_DecodesWithTheChartSize_WhiteBackgroundAndTheLossColour()
    {
        using var d = new TempDir();
        var png = PngImage.Decode(Render(Curves(WriteRun(d)), ChartFormat.Png));
        Assert.Equal((1000, 730), (png.Width, png.Height));
        Assert.Equal(((byte)255, (byte)255, (byte)255), png.At(0, 0));
        bool found = false;
        for (int y = 0; y < png.Height && !found; y++)
            for (int x = 0; x < png.Width && !found; x++)
                found = png.At(x, y) == (0x1f, 0x77, 0xb4);
        Assert.True(found, "no pixel in the loss colour");
    }

    [Fact]
    public void ChartFile_SavesByExtension_AndRefusesOthers()
    {
        using var d = new TempDir();
        var path = Path.Combine(d.Path, "sub", "c.svg");
        TrainingChart.Save(Curves(WriteRun(d)), path);
        Assert.StartsWith("<?xml", File.ReadAllText(path));
        var e = Assert.Throws<ArgumentException>(() => ChartFile.FormatOf("chart.jpg"));
        Assert.Contains("chart.jpg", e.Message);
    }

    [Fact]
    public void ComparisonChart_DrawsOneSeriesPerRun_LabelledAsGiven()
    {
        var labels = new[] { "runs/a: dtype=bf16", "runs/b: dtype=fp32", "runs/c: dtype=fp16" };
        var runs = labels.Select((l, i) => new LabelledCurve(l, new Curve(
            Enumerable.Range(1, 60).Select(s => (double)s).ToArray(), Enumerable.Range(1, 60).Select(s => 5.0 - i * 0.2 - s / 30.0).ToArray()))).ToList();
        var c = new RunComparison { Title = "training loss", XLabel = "optimizer step", YLabel = "training loss", Smooth = true, Runs = runs };
        var svg = new SvgChart(ChartFile.Render(ComparisonChart.Build(c), ComparisonChart.Width, ComparisonChart.Height, ChartFormat.Svg));
        foreach (var l in labels) Assert.Single(svg.Texts, l);
        Assert.Equal(2, svg.Texts.Count(t => t == "training loss")); // title and y axis
        Assert.Contains("optimizer step", svg.Texts);
        for (int i = 0; i < 3; i++) Assert.Equal(60, Assert.Single(svg.OpaqueLines(ChartStyle.Palette[i].ToStringRGB())).Count);
        Assert.Empty(svg.OpaqueLines(ChartStyle.Palette[3].ToStringRGB()));
    }

    [Fact]
    public void MetricsHistory_ResumedAfterAKill_HasEachStepOnce_WithTheResumedValues()
    {
        using var d = new TempDir();
        var path = Path.Combine(d.Path, "m.jsonl");
        // Steps 1..6 logged, checkpoint at 4, SIGKILL (the step-7 line cut short), resume from 4 re-runs 5 and 6 with other numbers.
        File.WriteAllLines(path, new[]
        {
            """{"event":"start","step":0,"total_steps":8}""",
            """{"step":1,"loss":5.0,"tokens":100,"elapsed_s":1.0}""", """{"step":2,"loss":4.8,"tokens":200,"elapsed_s":2.0}""",
            """{"step":3,"loss":4.6,"tokens":300,"elapsed_s":3.0}""", """{"step":4,"loss":4.4,"tokens":400,"elapsed_s":4.0}""",
            """{"step":5,"loss":9.9,"tokens":500,"elapsed_s":5.0}""", """{"event":"skipped","step":6}""", """{"step":6,"loss":9.8,"tokens":600,"elapsed_s":6.0}""",
            """{"step":7,"loss":9.""",
            """{"event":"resume","step":4,"total_steps":8}""",
            """{"step":5,"loss":4.2,"tokens":500,"elapsed_s":0.5}""", """{"step":6,"loss":4.0,"tokens":600,"elapsed_s":1.0}""",
            """{"step":6,"val_loss":4.5}""",
            """{"step":7,"loss":3.8,"tokens":700,"elapsed_s":1.5}""", """{"step":8,"loss":"NaN","tokens":800,"elapsed_s":2.0}""",
        });
        var h = MetricsHistory.Read(path);
        Assert.Equal(1, h.UnreadableLines);
        var (x, y) = h.Series("loss", PlotAxis.Step);
        Assert.Equal(new double[] { 1, 2, 3, 4, 5, 6, 7, 8 }, x);
        Assert.Equal(new[] { 5.0, 4.8, 4.6, 4.4, 4.2, 4.0, 3.8 }, y[..7]);
        Assert.True(double.IsNaN(y[7]));
        Assert.Empty(h.Skipped); // the skipped update belonged to the lost work
        // Training time: the first process's 4 s of kept work, then the resumed process's own clock.
        Assert.Equal(new[] { 1.0, 2, 3, 4, 4.5, 5, 5.5, 6 }, h.Series("loss", PlotAxis.Time).X);
        // A validation line without tokens gets the tokens of its step.
        var (vx, vy) = h.Series("val_loss", PlotAxis.Tokens);
        Assert.Equal(new[] { 600.0 }, vx);
        Assert.Equal(new[] { 4.5 }, vy);
    }

    [Fact]
    public void XMap_InterpolatesBetweenLoggedSteps_AndExtendsPastTheLast()
    {
        using var d = new TempDir();
        var path = Path.Combine(d.Path, "m.jsonl");
        File.WriteAllLines(path, new[] { """{"step":10,"tokens":1000}""", """{"step":20,"tokens":3000}""", """{"step":25,"val_loss":1}""", """{"event":"skipped","step":15}""" });
        var h = MetricsHistory.Read(path);
        var x = h.XMap(PlotAxis.Tokens);
        Assert.Equal(500, x(5));   // between (0, 0) and (10, 1000)
        Assert.Equal(2000, x(15));
        Assert.Equal(4000, x(25)); // past the last logged step, at the last segment's slope
        Assert.Equal(new[] { 2000.0 }, h.SkippedX(PlotAxis.Tokens));
    }

    [Fact]
    public void Smoothing_IsTheTrailingMeanOfFiniteValues()
    {
        // Hand-derived: window 2 over 1, 3, NaN, 5, 7.
        Assert.Equal(new[] { 1.0, 2, 2, 4, 6 }, Smoothing.TrailingMean(new[] { 1.0, 3, double.NaN, 5, 7 }, 2));
        Assert.Equal(2, Smoothing.Window(10));
        Assert.Equal(20, Smoothing.Window(1000));
    }

    private static TrainingState State(string dtype, int world, int batch) => new()
    {
        Dtype = dtype, WorldSize = world, BatchSize = batch, AccumulationSteps = 8, SeqLen = 511, LearningRate = 5e-4, GradClip = 1, Seed = 42,
        Device = "cpu", DataDescription = "d.bin", Epochs = 1, TotalSteps = 100, WeightDecay = 0.01f,
        Arch = new KeyValuePair<string, string>[] { new("arch", "minimind-v1"), new("dim", "512"), new("n-layers", "8") },
    };

    [Fact]
    public void Labels_NameExactlyTheFlagsThatDiffer()
    {
        using var d = new TempDir();
        var metrics = WriteRun(d);
        RunsPlot.Loaded Run(string label, TrainingState? s) => new(new RunOnDisk(label, "pretrain_512", metrics, d.Path), MetricsHistory.Read(metrics), s);
        var labels = RunsPlot.Labels(new[] { Run("runs/w1", State("bf16", 1, 16)), Run("runs/w2", State("fp32", 2, 16)), Run("runs/w4", State("bf16", 4, 16)) });
        Assert.Equal(new[] { "runs/w1: dtype=bf16, W=1", "runs/w2: dtype=fp32, W=2", "runs/w4: dtype=bf16, W=4" }, labels);
        Assert.Equal(new[] { "a", "b" }, RunsPlot.Labels(new[] { Run("a", State("bf16", 1, 16)), Run("b", State("bf16", 1, 16)) }));
        Assert.Equal(new[] { "a: batch-size=8", "b: batch-size=16", "c (no resume state)" },
            RunsPlot.Labels(new[] { Run("a", State("bf16", 1, 8)), Run("b", State("bf16", 1, 16)), Run("c", null) }));
        var chart = RunsPlot.Compare(new[] { Run("a", State("bf16", 1, 8)), Run("b", State("bf16", 1, 16)) }, "val_loss", PlotAxis.Step).Chart;
        Assert.Equal("validation loss · minimind-v1, dim 512, 8 layers", chart.Title);
        var e = Assert.Throws<ArgumentException>(() => RunsPlot.Compare(new[] { Run("a", null) }, "reward", PlotAxis.Step));
        Assert.Contains("no run logged reward", e.Message);
        Assert.Contains("val_loss", e.Message);
    }

    private const string Doc = """
        # Benchmarks
        ## Training tokens/s (quiet machine)
        | minimind-v1, batch 4 × T | load avg | C# tokens/s | torch 2.6 tokens/s | C# / 2.6 |
        |---|---|---:|---:|---:|
        | T=256 | 0.7–1.6 | 393.4 | 99.1 | **3.97×** |
        | T=1024 | 2.1–2.6 | 1,340.0 | — | — |
        ```bash
        # Other (a comment in a code block, not a heading)
        ```
        ## Other
        | a | b |
        |---|---|
        | x | 1 |
        """;

    [Fact]
    public void TableBars_ReadTheChosenColumnsOfTheTableUnderAHeading()
    {
        var t = TableBars.Find(Doc, "quiet");
        var data = TableBars.From(t, new[] { "C# tokens/s", "torch 2.6 tokens/s" }, null, t.Heading, "tokens/s");
        Assert.Equal(new[] { "C# tokens/s", "torch 2.6 tokens/s" }, data.Series);
        Assert.Equal(new[] { "T=256", "T=1024" }, data.Panels[0].Categories);
        Assert.Equal(new double?[] { 393.4, 99.1 }, data.Panels[0].Values[0]);
        Assert.Equal(new double?[] { 1340.0, null }, data.Panels[0].Values[1]);
        Assert.Equal(3.97, MarkdownTable.Number("**3.97×**"));
        Assert.Contains("'Other'", Assert.Throws<ArgumentException>(() => TableBars.Find(Doc, "nothing")).Message);
        Assert.Contains("'load avg'", Assert.Throws<ArgumentException>(() => TableBars.From(t, new[] { "nope" }, null, "", "")).Message);
        // Every all-numeric column when none is named: the load column has a number in each cell too.
        Assert.Equal(new[] { "b" }, TableBars.From(TableBars.Find(Doc, "Other"), Array.Empty<string>(), null, "", "").Series);

        var svg = new SvgChart(ChartFile.Render(BarChart.Build(data).Chart, BarChart.Width, BarChart.Build(data).Height, ChartFormat.Svg), minVertices: 0);
        foreach (var text in new[] { "T=256", "T=1024", "393.4", "99.1", "1340", "C# tokens/s", "torch 2.6 tokens/s", "tokens/s" }) Assert.Contains(text, svg.Texts);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Minimind.Checkpoint.Resume;
using Minimind.Training;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The charts through the CLI: <c>train --plot</c> at every save, <c>plot</c> over runs (a SIGKILLed and resumed run plots
/// each step once; the legend names exactly the flags that differ), and the --plot bar charts of the bench commands.
/// </summary>
public class PlotCliTests
{
    private static string[] Train(string outDir, int steps, int batch = 4, params string[] extra) => new[]
    {
        "train", "--device", "cpu", "--max-seq-len", "32", "--batch-size", batch.ToString(CultureInfo.InvariantCulture), "--accumulation-steps", "2",
        "--max-steps", steps.ToString(CultureInfo.InvariantCulture), "--save-interval", "4", "--log-interval", "1", "--save-dtype", "f32", "--seed", "5", "--out-dir", outDir,
    }.Concat(extra).ToArray();

    private static string Metrics(string outDir) => Path.Combine(outDir, "checkpoints", "pretrain_64_metrics.jsonl");

    private static void Ok((int Code, string Output) r) => Assert.True(r.Code == 0, $"exit code {r.Code}:\n{r.Output}");

    [Fact]
    public void TrainPlot_WritesALabelledPngAndSvgAtEverySave()
    {
        using var d = new TempDir();
        Ok(CliProcess.Run(Train(d.Path, 6, 4, "--dtype", "bf16", "--plot-x", "tokens")));
        var svg = new SvgChart(File.ReadAllBytes(Path.Combine(d.Path, "pretrain_64_loss.svg")));
        Assert.Contains(svg.Texts, t => t.StartsWith("pretrain_64 · minimind-v1, dim 64, 2 layers · bf16", StringComparison.Ordinal));
        Assert.Contains("tokens trained on", svg.Texts);
        Assert.Contains("loss, mean of the last 2 logged steps", svg.Texts);
        // The last save (step 6) drew all 6 logged steps.
        Assert.Equal(6, Assert.Single(svg.OpaqueLines("#1f77b4")).Count);
        var png = PngImage.Decode(File.ReadAllBytes(Path.Combine(d.Path, "pretrain_64_loss.png")));
        Assert.Equal((1000, 730), (png.Width, png.Height));
    }

    [Fact]
    public void AChartThatCannotBeWritten_IsReported_AndTrainingGoesOn()
    {
        using var d = new TempDir();
        Directory.CreateDirectory(Path.Combine(d.Path, "pretrain_64_loss.png")); // a folder where the PNG should go
        var r = CliProcess.Run(Train(d.Path, 4, 4, "--plot"));
        Ok(r);
        Assert.Contains("warning: the --plot chart", r.Output);
        Assert.Contains("training goes on", r.Output);
        Assert.NotNull(ResumeStore.FindNewestValid(Path.Combine(d.Path, "checkpoints", "pretrain_64")));
    }

    [Fact]
    public void ARunResumedAfterSigkill_PlotsEachStepOnce_WithTheValuesOfAnUninterruptedRun()
    {
        const int steps = 12;
        using var reference = new TempDir();
        Ok(CliProcess.Run(Train(reference.Path, steps)));
        var expected = MetricsHistory.Read(Metrics(reference.Path)).Series("loss", PlotAxis.Step);

        using var d = new TempDir();
        bool lostWorkLogged = false;
        for (int attempt = 0; attempt < 4 && !lostWorkLogged; attempt++)
        {
            if (Directory.Exists(d.Path)) Directory.Delete(d.Path, true);
            Directory.CreateDirectory(d.Path);
            var p = KillResumeTests.Start(Train(d.Path, steps), resume: false);
            // Kill once a step after the first checkpoint is logged and that checkpoint is committed (a background save
            // commits after the next step's first forward), before the next checkpoint.
            var sw = Stopwatch.StartNew();
            while (!p.HasExited && sw.ElapsedMilliseconds < 120_000
                   && !(LoggedPast(d.Path, 5) && ResumeStore.FindNewestValid(Path.Combine(d.Path, "checkpoints", "pretrain_64")) is not null)) Thread.Sleep(1);
            KillResumeTests.KillNow(p);
            long saved = ResumeStore.FindNewestValid(Path.Combine(d.Path, "checkpoints", "pretrain_64"))?.Step ?? 0;
            lostWorkLogged = saved > 0 && LoggedSteps(d.Path).Any(s => s > saved);
        }
        Assert.True(lostWorkLogged, "never killed the run between a logged step and the next checkpoint");
        KillResumeTests.Finish(KillResumeTests.Start(Train(d.Path, steps), resume: true));

        var (x, y) = MetricsHistory.Read(Metrics(d.Path)).Series("loss", PlotAxis.Step);
        Assert.Equal(expected.X, x);
        Assert.Equal(expected.Y, y); // bit-exact resume: the same numbers as the uninterrupted run
        var outSvg = Path.Combine(d.Path, "resumed.svg");
        Ok(CliProcess.Run("plot", d.Path, "--out", outSvg));
        var svg = new SvgChart(File.ReadAllBytes(outSvg));
        var raw = Assert.Single(svg.Lines, l => string.Equals(l.Stroke, "#1f77b4", StringComparison.OrdinalIgnoreCase) && l.Opacity < 1);
        Assert.Equal(steps, raw.Points.Count);
        Assert.True(raw.Points.Zip(raw.Points.Skip(1)).All(q => q.Second.X > q.First.X), "a step is drawn twice or out of order");
    }

    private static IReadOnlyList<long> LoggedSteps(string outDir)
    {
        if (!File.Exists(Metrics(outDir))) return Array.Empty<long>();
        using var fs = new FileStream(Metrics(outDir), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(fs);
        return Regex.Matches(r.ReadToEnd(), @"^\{""step"":(\d+),""epoch""", RegexOptions.Multiline).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
    }

    private static bool LoggedPast(string outDir, long step) => LoggedSteps(outDir).Any(s => s >= step);

    [Fact]
    public void PlotOverRuns_NamesExactlyTheFlagsThatDiffer()
    {
        using var d = new TempDir();
        string a = Path.Combine(d.Path, "fp32"), b = Path.Combine(d.Path, "bf16");
        Ok(CliProcess.Run(Train(a, 4)));
        Ok(CliProcess.Run(Train(b, 4, 2, "--dtype", "bf16")));
        var outSvg = Path.Combine(d.Path, "cmp.svg");
        var r = CliProcess.Run("plot", a, b, "--out", outSvg);
        Ok(r);
        var svg = new SvgChart(File.ReadAllBytes(outSvg));
        Assert.Contains($"{a}: dtype=fp32, batch-size=4", svg.Texts);
        Assert.Contains($"{b}: dtype=bf16, batch-size=2", svg.Texts);
        Assert.Equal(2, svg.Lines.Count(l => l.Opacity == 1)); // one line per run (each over its faint raw line)
        Assert.Contains("training loss · minimind-v1, dim 64, 2 layers", svg.Texts);

        var bad = CliProcess.Run("plot", a, "--metric", "reward", "--out", outSvg);
        Assert.Equal(1, bad.Code);
        Assert.Contains("no run logged reward", bad.Output);
    }

    [Fact]
    public void BenchTrainPlot_DrawsThePrintedFiguresBesideTheBaseline()
    {
        using var d = new TempDir();
        var baseline = Path.Combine(d.Path, "torch.log");
        File.WriteAllText(baseline, "torch 2.6.0, 2 threads, device cpu\n5 timed steps: 0.5000 s/step, last loss 8.0\ntokens/s: 123.4\n");
        var chart = Path.Combine(d.Path, "train.svg");
        var (code, output, stdout) = CliProcess.RunSplit("bench", "train", "--device", "cpu", "--dim", "64", "--n-layers", "2", "--batch-size", "2", "--max-seq-len", "33",
            "--steps", "2", "--plot", chart, "--baseline", $"torch 2.6={baseline}");
        Assert.True(code == 0, output);
        Assert.Matches(@"tokens/s: [0-9.]+\s*$", stdout); // still the last line, for scripts
        double ours = double.Parse(Regex.Match(stdout, @"^tokens/s: ([0-9.]+)", RegexOptions.Multiline).Groups[1].Value, CultureInfo.InvariantCulture);
        double meanStep = double.Parse(Regex.Match(stdout, @"step time: mean ([0-9.]+) s").Groups[1].Value, CultureInfo.InvariantCulture);
        var svg = new SvgChart(File.ReadAllBytes(chart), minVertices: 0);
        foreach (var t in new[] { "minimind (cpu, fp32)", "torch 2.6", "tokens/s", "step time (mean)", "123.4", "0.5",
            Minimind.Plots.BarChart.Format(ours), Minimind.Plots.BarChart.Format(meanStep) })
            Assert.Contains(t, svg.Texts);

        var missing = CliProcess.Run("bench", "train", "--steps", "1", "--baseline", "x.log");
        Assert.Equal(2, missing.Code);
        Assert.Contains("add --plot", missing.Output);
    }

    [Fact]
    public void KernelsBenchPlot_DrawsEachOpBesideTheSameOpOfTheBaseline()
    {
        using var d = new TempDir();
        var baseline = Path.Combine(d.Path, "before.md");
        File.WriteAllText(baseline, "| op | shape | dtype | ms/call | throughput |\n|---|---|---|---:|---:|\n| AddInPlace |  | fp32 | 0.010 | 77.7 GB/s |\n| Fill |  | fp32 | 0.010 | 66.6 GB/s |\n");
        var chart = Path.Combine(d.Path, "k.svg");
        var (code, output, stdout) = CliProcess.RunSplit("kernels", "bench", "--device", "cpu", "--sizes", "small", "--seconds", "0.01", "--op", "Add",
            "--plot", chart, "--baseline", $"before={baseline}");
        Assert.True(code == 0, output);
        var svg = new SvgChart(File.ReadAllBytes(chart), minVertices: 0);
        Assert.Contains("77.7", svg.Texts);     // AddInPlace matched
        Assert.DoesNotContain("66.6", svg.Texts); // Fill was not benchmarked (--op Add)
        foreach (Match m in Regex.Matches(stdout, @"^\| (\w+) \|[^|]*\| fp32 \| [0-9.]+ \| ([0-9.]+) GB/s \|", RegexOptions.Multiline))
        {
            Assert.Contains(m.Groups[1].Value, svg.Texts);
            Assert.Contains(Minimind.Plots.BarChart.Format(double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)), svg.Texts);
        }
        Assert.Contains("minimind (cpu, fp32)", svg.Texts);
        Assert.Contains("GB/s (higher is better)", svg.Texts);
    }

    [Fact]
    public void PlotTable_DrawsAMarkdownTableOfTheBenchmarksDoc()
    {
        using var d = new TempDir();
        var doc = Path.Combine(d.Path, "b.md");
        File.WriteAllText(doc, "# x\n## Tokens\n| run | ours | theirs |\n|---|---:|---:|\n| T=256 | **393.4** | 99.1 |\n");
        var outSvg = Path.Combine(d.Path, "t.svg");
        Ok(CliProcess.Run("plot", "--table", doc, "--section", "tokens", "--unit", "tokens/s", "--out", outSvg));
        var svg = new SvgChart(File.ReadAllBytes(outSvg), minVertices: 0);
        foreach (var t in new[] { "Tokens", "T=256", "393.4", "99.1", "ours", "theirs", "tokens/s" }) Assert.Contains(t, svg.Texts);
    }

    /// <summary>The chart font travels with the program: with /usr/share/fonts hidden (a private mount namespace), the text is still drawn.</summary>
    [SkippableFact]
    public void ChartsKeepTheirTextOnAMachineWithoutFonts()
    {
        using var d = new TempDir();
        var metrics = Path.Combine(d.Path, "run_metrics.jsonl");
        File.WriteAllLines(metrics, Enumerable.Range(1, 5).Select(s => $$"""{"step":{{s}},"loss":{{6 - s}},"lr":0.001,"grad_norm":1.5}"""));
        var empty = Directory.CreateDirectory(Path.Combine(d.Path, "nofonts")).FullName;
        var png = Path.Combine(d.Path, "c.png");
        var svg = Path.Combine(d.Path, "c.svg");
        string script = $"mount --bind '{empty}' /usr/share/fonts && dotnet '{TestPaths.CliDll}' plot '{metrics}' --out '{svg}' && dotnet '{TestPaths.CliDll}' plot '{metrics}' --out '{png}'";
        var psi = new ProcessStartInfo("unshare", new[] { "-m", "--propagation", "private", "sh", "-c", script }) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new SkipException("no unshare(1) here to hide the system fonts"); }
        string err = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Skip.If(p.ExitCode != 0 && (err.Contains("unshare failed") || err.Contains("Operation not permitted") || err.Contains("mount:")),
            "cannot hide the system fonts here (needs root and mount namespaces): " + err.Trim());
        Assert.True(p.ExitCode == 0, err);
        var chart = new SvgChart(File.ReadAllBytes(svg));
        foreach (var t in new[] { "run", "loss", "optimizer step", "learning rate", "grad norm" }) Assert.Contains(t, chart.Texts);
        // In the PNG the text is pixels: dark glyph pixels exist left of the plot area, where only the y tick labels and axis label are.
        var img = PngImage.Decode(File.ReadAllBytes(png));
        int dark = 0;
        for (int y = 50; y < 400; y++) for (int x = 0; x < 80; x++) { var (r, g, b) = img.At(x, y); if (r + g + b < 200) dark++; }
        Assert.True(dark > 50, $"only {dark} dark pixels where the y axis labels are drawn");
    }
}

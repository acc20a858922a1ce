using System.Globalization;
using System.Text.RegularExpressions;

namespace Minimind.Cli.Tests;

/// <summary>
/// <c>bench train --device cpu</c> prints, per step, the model FLOPs it achieved and the SGEMM peak measured right after
/// it, and sums them up as the median ratio. Every printed figure is recomputed here from the others: achieved =
/// MFLOP/token × tokens per step / step time, the percentage = achieved / peak, the summary = the median of the steps'.
/// </summary>
public class BenchTrainFlopsTests
{
    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void BenchTrain_OnTheCpu_RatesEachStepAgainstThePeakMeasuredAfterIt()
    {
        var (code, output, stdout) = CliProcess.RunSplit("bench", "train", "--device", "cpu", "--dim", "64", "--n-layers", "2",
            "--batch-size", "2", "--max-seq-len", "65", "--steps", "3");
        Assert.True(code == 0, output);
        double perToken = D(Regex.Match(stdout, @"model FLOPs: ([0-9.]+) MFLOP/token").Groups[1].Value) * 1e6;
        var shape = Regex.Match(stdout, @"batch (\d+) x (\d+) tokens, (\d+) micro-batch");
        Assert.True(shape.Success, stdout);
        double tokensPerStep = D(shape.Groups[1].Value) * D(shape.Groups[2].Value) * D(shape.Groups[3].Value);
        var steps = Regex.Matches(stdout, @"^step \d+/3: ([0-9.]+) s, loss [0-9.]+; ([0-9.]+) GFLOP/s, SGEMM peak after it ([0-9.]+) GFLOP/s: (\d+)%\s*$", RegexOptions.Multiline);
        Assert.True(steps.Count == 3, stdout);
        var ratios = new List<double>();
        foreach (Match m in steps)
        {
            double seconds = D(m.Groups[1].Value), achieved = D(m.Groups[2].Value), peak = D(m.Groups[3].Value), percent = D(m.Groups[4].Value);
            // The step time is printed to 1 ms and MFLOP/token to 0.1: those roundings bound how far the recomputed figure may be.
            double expected = perToken * tokensPerStep / seconds / 1e9, slack = expected * (0.0005 / seconds + 0.05e6 / perToken + 0.002) + 0.05;
            Assert.True(Math.Abs(achieved - expected) <= slack, $"{m.Value}: {perToken / 1e6} MFLOP/token × {tokensPerStep} tokens / {seconds} s = {expected:F2} GFLOP/s");
            Assert.True(peak > 0, m.Value);
            Assert.True(Math.Abs(percent - 100 * achieved / peak) <= 1, $"{m.Value}: {achieved} / {peak} is {100 * achieved / peak:F1}%");
            ratios.Add(achieved / peak);
        }
        ratios.Sort();
        var summary = Regex.Match(stdout, @"per step, of the SGEMM peak \(2048×2048×1024, best of 3\) measured after it: median (\d+)% \((\d+)–(\d+)%\)");
        Assert.True(summary.Success, stdout);
        Assert.True(Math.Abs(D(summary.Groups[1].Value) - 100 * ratios[1]) <= 1, $"{summary.Value}: the steps' median is {100 * ratios[1]:F1}%");
        Assert.True(Math.Abs(D(summary.Groups[2].Value) - 100 * ratios[0]) <= 1 && Math.Abs(D(summary.Groups[3].Value) - 100 * ratios[2]) <= 1, summary.Value);
        Assert.Matches(@"tokens/s: [0-9.]+\s*$", stdout); // still the last line, for scripts
    }
}

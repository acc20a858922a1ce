using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// <c>bench grpo-memory</c> end to end on a tiny model: a real GRPO step runs, the parts table is printed, and the
/// backend's peak is exactly the hand-counted sum (every buffer of the step is one of the parts, and all are live at
/// once: the persistent ones are allocated up front, nothing else is).
/// </summary>
public class GrpoMemoryBenchTests
{
    private static readonly string[] Tiny = { "--dim", "64", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2", "--vocab-size", "259",
        "--prompts", "2", "--generations", "3", "--prompt-tokens", "5", "--max-gen-len", "12" };

    [Fact]
    public void BenchGrpoMemory_PeakEqualsTheSumOfParts()
    {
        var (code, stdout, stderr) = CliProcess.Exec(null, new[] { "bench", "grpo-memory", "--device", "cpu", "--steps", "2" }.Concat(Tiny).ToArray());
        Assert.True(code == 0, stderr + stdout);
        Assert.Matches(@"step 2/2: loss -?[0-9.]+", stdout);
        foreach (var part in new[] { "policy weights", "policy gradients", "AdamW m and v", "reference weights", "update activations", "update logits",
            "update backward scratch", "reference forward", "rollout KV cache", "sum of parts" })
            Assert.Contains(part, stdout);
        Assert.Matches(@"peak allocated: [0-9.]+ MiB", stdout);
        Assert.Contains("process peak RSS (VmHWM)", stdout);
        Assert.Equal("peak/sum: 1.000", stdout.TrimEnd('\n').Split('\n')[^1]);
    }

    [Fact]
    public void BenchGrpoMemory_PartsOnly_PrintsTheTableWithoutAStep()
    {
        var (code, stdout, stderr) = CliProcess.Exec(null, new[] { "bench", "grpo-memory", "--parts-only" }.Concat(Tiny).ToArray());
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("sum of parts", stdout);
        Assert.DoesNotContain("peak/sum", stdout);
    }
}

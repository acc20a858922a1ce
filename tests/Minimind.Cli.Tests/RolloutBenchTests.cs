using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary><c>bench rollout</c> end to end on a tiny model: both runs generate every token, sample the same tokens, and the last line is the speedup.</summary>
public class RolloutBenchTests
{
    [Fact]
    public void BenchRollout_SamplesTheSameTokensBatchedAndOneAtATime()
    {
        var (code, stdout, stderr) = CliProcess.Exec(null, "bench", "rollout", "--dim", "64", "--n-layers", "1", "--n-heads", "4", "--n-kv-heads", "2",
            "--vocab-size", "259", "--prompts", "2", "--generations", "3", "--prompt-tokens", "5", "--new-tokens", "12", "--device", "cpu");
        Assert.True(code == 0, stderr + stdout);
        // 2 x 3 sequences of 12 tokens each way (no stop id), the tokens checked equal, then the ratio
        Assert.Matches(@"batched   : 6 sequences, 72 tokens in [0-9.]+ s = [0-9.]+ tokens/s", stdout);
        Assert.Matches(@"sequential: 6 sequences, 72 tokens in [0-9.]+ s = [0-9.]+ tokens/s", stdout);
        Assert.Contains("same tokens: yes", stdout);
        Assert.Matches(@"^speedup: [0-9]+\.[0-9]{2}$", stdout.TrimEnd('\n').Split('\n')[^1]);
    }
}

using System.Text.Json;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// grpo and ppo on prompts of uneven length: a shorter prompt's row starts its RoPE positions at the batch's prompt width
/// minus its length and is eos-filled to the widest row, so with a prompt cut at --max-seq-len beside a short one and
/// completions that run to --max-gen-len, its positions reach 2·prompt − short + generation − 1. The model's positions
/// must cover that (a run used to stop with "position offset … outside the model's positions").
/// </summary>
public sealed class RlPositionsTests
{
    [Theory]
    [InlineData("grpo")]
    [InlineData("ppo")]
    public void UnevenPromptsAtTheLengthLimitTrain(string stage)
    {
        using var d = new TempDir();
        var prompts = Path.Combine(d.Path, "rlaif.jsonl");
        // one prompt far past --max-seq-len 96 (cut to 96 tokens), one short (the byte template's system turn and "Hi"), in the same batch of 2
        File.WriteAllLines(prompts, new[] { new string('x', 300), "Hi" }.Select(q =>
            JsonSerializer.Serialize(new { conversations = new object[] { new { role = "user", content = q }, new { role = "assistant", content = "" } } })));
        // random weights over 259 ids: a completion rarely samples eos, so most run to --max-gen-len 16
        var output = TrainDataSourceTests.Run("train", "--stage", stage, "--device", "cpu", "--data", prompts, "--tokenizer", "byte", "--from-weight", "none",
            "--arch", "minimind3", "--dim", "32", "--n-layers", "1", "--n-heads", "4", "--n-kv-heads", "2", "--vocab-size", "259",
            "--max-seq-len", "96", "--max-gen-len", "16", "--batch-size", "2", "--max-steps", "1", "--save-dtype", "f32", "--out-dir", d.Path);
        Assert.Contains("done: 1 steps", output);
    }
}

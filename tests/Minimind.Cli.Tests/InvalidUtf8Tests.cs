using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Issue 19 item 8: a jsonl line that is not UTF-8 (here 0xFF 0xFE, never valid in UTF-8; Python's
/// <c>open(..., encoding="utf-8")</c>, which MiniMind reads with, fails on it too) stops every command that reads jsonl —
/// pretraining, SFT, tokenize, eval (perplexity and multiple choice) — with the file and line, exit 1, and no output file.
/// </summary>
public sealed class InvalidUtf8Tests
{
    // A valid first line, then the invalid bytes inside line 2's string.
    private static string Write(string dir, string name, string line1, string before, string after)
    {
        var path = Path.Combine(dir, name);
        var u = System.Text.Encoding.UTF8;
        File.WriteAllBytes(path, u.GetBytes(line1 + "\n" + before).Concat(new byte[] { 0xFF, 0xFE }).Concat(u.GetBytes(after + "\n")).ToArray());
        return path;
    }

    private static void AssertRefused(string path, params string[] args)
    {
        var (code, o) = CliProcess.Run(args);
        Assert.True(code == 1, $"{string.Join(' ', args)}: exit {code}\n{o}");
        Assert.Contains($"{path}:2: not valid UTF-8", o);
        Assert.DoesNotContain("Exception", o);
    }

    [Fact]
    public void InvalidUtf8_InPretrainSftTokenizeAndEvalData_IsRefusedNamingFileAndLine()
    {
        using var d = new TempDir();
        var text = Write(d.Path, "pretrain.jsonl", "{\"text\": \"fine\"}", "{\"text\": \"bad ", " here\"}");
        AssertRefused(text, "train", "--device", "cpu", "--data", text, "--tokenizer", "byte", "--max-steps", "1", "--out-dir", Path.Combine(d.Path, "pt"));
        AssertRefused(text, "tokenize", "--data", text, "--tokenizer", "byte", "--out", Path.Combine(d.Path, "t.bin"));
        Assert.False(File.Exists(Path.Combine(d.Path, "t.bin")));

        const string turn = "{\"conversations\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"";
        var sft = Write(d.Path, "sft.jsonl", turn + "ok\"}]}", turn + "bad ", "\"}]}");
        AssertRefused(sft, "train", "--device", "cpu", "--stage", "sft", "--from-weight", "none", "--data", sft, "--tokenizer", "byte",
            "--max-steps", "1", "--out-dir", Path.Combine(d.Path, "sft"));
        Assert.Empty(Directory.GetFiles(d.Path, "*.pth", SearchOption.AllDirectories));

        // eval needs weights: the built-in run's shape, written with its record
        var weights = TinyModels.Write(Path.Combine(d.Path, "m.pth"),
            Minimind.Model.ModelConfig.Preset("minimind-v1") with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 128 }, "byte");
        AssertRefused(text, "eval", "--weights", weights, "--data", text);
        const string q = "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 0, \"x\": \"";
        var mc = Write(d.Path, "mc.jsonl", q + "\"}", q + "bad ", "\"}");
        AssertRefused(mc, "eval", "--task", "mc", "--weights", weights, "--data", mc);
    }
}

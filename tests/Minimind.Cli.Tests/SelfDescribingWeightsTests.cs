using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Model;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>Weight files that describe themselves, and MiniMind's half-precision files that tie as MiniMind ties them.</summary>
public class SelfDescribingWeightsTests
{
    private static string Ok(params string[] args) => OkSplit(args).Output;

    private static (string Output, string Stdout) OkSplit(params string[] args)
    {
        var (code, o, stdout) = CliProcess.RunSplit(args);
        Assert.True(code == 0, $"minimind {string.Join(' ', args)} exited {code}:\n{o}");
        return (o, stdout);
    }

    // The ids generate --print-ids puts on the last line of stdout.
    private static string Ids(params string[] args) => OkSplit(args).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

    [Fact]
    public void GenerateNeedsOnlyTheWeightsAndMatchesTheSpelledOutArchitecture()
    {
        using var d = new TempDir();
        // A non-default shape, so the flag-free path cannot get it right by falling back to a preset.
        var o = Ok("train", "--device", "cpu", "--max-steps", "4", "--arch", "minimind-v1", "--dim", "48", "--n-layers", "2", "--n-heads", "6",
            "--n-kv-heads", "3", "--vocab-size", "259", "--rope-theta", "5000", "--max-seq-len", "64", "--out-dir", d.Path);
        var weights = Path.Combine(d.Path, "pretrain_48.pth");
        Assert.Contains($"try it:     minimind generate --weights {weights} --prompt \"...\"", o);
        string[] gen = { "generate", "--weights", weights, "--prompt-ids", "257,84,104", "--greedy", "--print-ids", "--max-new-tokens", "12" };
        var bare = OkSplit(gen);
        var flags = Ids(gen.Concat(new[] { "--arch", "minimind-v1", "--dim", "48", "--n-layers", "2", "--n-heads", "6", "--n-kv-heads", "3",
            "--vocab-size", "259", "--max-seq-len", "64", "--rope-theta", "5000", "--norm-eps", "1e-5", "--tokenizer", "byte" }).ToArray());
        Assert.Equal(12, flags.Split(' ').Length);
        Assert.Equal(flags, bare.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1]);
        Assert.Contains("--rope-theta 5000", bare.Output); // the model line: read from the file, not the preset's 1e4
        // The tokenizer is recorded too: a text prompt needs no --tokenizer.
        Ok("generate", "--weights", weights, "--prompt", "The ", "--max-new-tokens", "4", "--greedy");
        // Without the record (a foreign file), the preset's RoPE base would apply: the record is what made the two agree.
        var sd = StateDict.Read(weights);
        Assert.Equal(5000f, ArchitectureRecord.Read(sd)!.Value.Config.RopeTheta);
    }

    [SkippableFact]
    public void MiniMindHalfFileWithSeparateEqualHeadTrainsTiedAndPyTorchAgreesOnTheResult()
    {
        TestEnvironment.RequireTool(TestPaths.HasTorch, "needs PyTorch at /usr/bin/python3 (apt-get install python3-torch)");
        using var d = new TempDir();
        var tool = Path.Combine(TestPaths.RepoRoot, "tools", "reference", "minimind_f16_file.py");
        var src = Path.Combine(d.Path, "minimind_f16.pth");
        int tiedParams = JsonDocument.Parse(TestPaths.RunPython(tool, "make", src)).RootElement.GetProperty("tied_params").GetInt32();
        // As MiniMind saves it: two keys, two storages, equal values.
        var sd = StateDict.Read(src);
        Assert.NotSame(sd["model.embed_tokens.weight"].Storage, sd["lm_head.weight"].Storage);
        Assert.Equal(sd["model.embed_tokens.weight"].ToFloat32(), sd["lm_head.weight"].ToFloat32());

        var outDir = Path.Combine(d.Path, "out");
        var o = Ok("train", "--device", "cpu", "--from-weight", src, "--max-steps", "3", "--save-dtype", "f32", "--out-dir", outDir);
        Assert.Contains($"vocab 259: {tiedParams:N0} parameters", o);
        Assert.DoesNotContain("differ by up to", o);
        var result = Path.Combine(outDir, "pretrain_32.pth");
        var ids = Ids("generate", "--weights", result, "--prompt-ids", "257,72,101", "--greedy", "--print-ids", "--max-new-tokens", "10");
        var torchIds = JsonDocument.Parse(TestPaths.RunPython(tool, "greedy", result, "257,72,101", "10")).RootElement.GetProperty("ids")
            .EnumerateArray().Select(e => e.GetInt32());
        Assert.Equal(string.Join(' ', torchIds), ids);

        // A file whose two copies differ is reported, and the tied model takes the head, as MiniMind's load_state_dict ends up doing.
        var parts = new StateDict();
        foreach (var k in sd.Keys) parts.Add(k, sd[k]);
        var head = sd["lm_head.weight"].ToFloat32();
        head[5] += 0.25f;
        parts.Add("lm_head.weight", TorchTensor.FromFloat32(head, sd["lm_head.weight"].Shape, TorchDType.F16));
        var differ = Path.Combine(d.Path, "differ.pth");
        PthWriter.WriteStateDict(differ, parts);
        o = Ok("train", "--device", "cpu", "--from-weight", differ, "--max-steps", "1", "--out-dir", Path.Combine(d.Path, "out2"));
        Assert.Contains("'model.embed_tokens.weight' and 'lm_head.weight' are separate tensors that differ by up to 0.2", o);
        Assert.Contains($"{tiedParams:N0} parameters", o);
        o = Ok("train", "--device", "cpu", "--from-weight", differ, "--tie-embeddings", "false", "--max-steps", "1", "--out-dir", Path.Combine(d.Path, "out3"));
        Assert.Contains($"{tiedParams + 259 * 32:N0} parameters", o);
    }
}

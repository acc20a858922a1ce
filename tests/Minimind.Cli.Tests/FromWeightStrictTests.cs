using System.Text.RegularExpressions;
using Minimind.Checkpoint;
using Minimind.Model;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Issue 19 item 2: <c>train --from-weight</c> is strict by default. A file of another generation (or with a key too
/// many or too few) is refused before any step, naming the keys; <c>--allow-partial-load</c> is the explicit opt-in
/// (MiniMind's <c>strict=False</c>) and says what stayed at random initialisation. The file is read once per run, so a
/// note about it (a tied head whose two copies differ) is said once, even when DPO loads it into two models.
/// </summary>
public sealed class FromWeightStrictTests
{
    private static readonly string[] Small = { "--dim", "64", "--n-layers", "2", "--n-heads", "4", "--n-kv-heads", "2" };

    private static (int Code, string Output) Train(string outDir, params string[] args) =>
        CliProcess.Run(new[] { "train", "--device", "cpu", "--max-steps", "1", "--out-dir", outDir }.Concat(args).ToArray());

    // One tiny run of each generation (the built-in data and byte tokenizer), its .pth describing itself.
    private static string Made(string root, string arch)
    {
        var dir = Path.Combine(root, arch);
        var (code, o) = Train(dir, new[] { "--arch", arch }.Concat(Small).ToArray());
        Assert.True(code == 0, o);
        return Path.Combine(dir, "pretrain_64.pth");
    }

    public static TheoryData<string, string, string, string> Mismatches() => new()
    {
        // file generation, model generation, a model key the file lacks, a file key the model has no use for
        { "minimind-v1", "minimind3", "model.embed_tokens.weight", "tok_embeddings.weight" },
        { "minimind3", "minimind2", "tok_embeddings.weight", "model.embed_tokens.weight" },
        { "minimind2-hf", "minimind3", "model.layers.0.self_attn.q_norm.weight", "" },
        { "minimind3", "minimind2-hf", "", "model.layers.1.self_attn.k_norm.weight" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public void AFileOfAnotherGeneration_IsRefusedNamingTheKeys_AndLoadsPartiallyOnlyWhenAsked(string file, string model, string missing, string unused)
    {
        using var d = new TempDir();
        var src = Made(d.Path, file);
        var run = Path.Combine(d.Path, "run");
        string[] args = new[] { "--from-weight", src, "--arch", model }.Concat(Small).ToArray();
        var (code, o) = Train(run, args);
        Assert.True(code == 1, o);
        Assert.Contains($"--from-weight {src} does not fit the model ({model}", o);
        Assert.Contains("--allow-partial-load", o);
        if (missing.Length > 0) Assert.Matches($"Missing key\\(s\\) in state_dict: .*\"{Regex.Escape(missing)}\"", o);
        if (unused.Length > 0) Assert.Matches($"Unexpected key\\(s\\) in state_dict: .*\"{Regex.Escape(unused)}\"", o);
        Assert.False(File.Exists(Path.Combine(run, "pretrain_64.pth")), "a refused start wrote weights");

        (code, o) = Train(run, args.Append("--allow-partial-load").ToArray());
        Assert.True(code == 0, o);
        var total = new ParameterLayout(ModelConfig.Preset(model) with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259 }).Table.Entries.Count;
        var m = Regex.Match(o, $@"initialised from {Regex.Escape(src)} \(--allow-partial-load\): (\d+) of {total} parameters loaded");
        Assert.True(m.Success, o);
        if (missing.Length > 0) Assert.Matches($"not in the file, left at random initialisation \\(\\d+\\): .*{Regex.Escape(missing)}", o);
        if (unused.Length > 0) Assert.Matches($"file keys the model does not use \\(\\d+\\): .*{Regex.Escape(unused)}", o);
        // the keys both layouts share were loaded: everything but what was listed as missing
        int listedMissing = Regex.Match(o, @"left at random initialisation \((\d+)\)") is { Success: true } mm ? int.Parse(mm.Groups[1].Value) : 0;
        Assert.Equal(total - listedMissing, int.Parse(m.Groups[1].Value));
    }

    [Fact]
    public void AKeyTooMany_IsRefused_AndAFittingFileLoadsEverything()
    {
        using var d = new TempDir();
        var src = Made(d.Path, "minimind-v1");
        var sd = StateDict.Read(src);
        sd.Add("layers.0.attention.extra.weight", TorchTensor.FromFloat32(new float[4], new[] { 4 }));
        var extra = Path.Combine(d.Path, "extra.pth");
        PthWriter.WriteStateDict(extra, sd);
        var (code, o) = Train(Path.Combine(d.Path, "r1"), new[] { "--from-weight", extra }.Concat(Small).ToArray());
        Assert.True(code == 1, o);
        Assert.Contains("1 file key(s) would go unused", o);
        Assert.Contains("\"layers.0.attention.extra.weight\"", o);
        (code, o) = Train(Path.Combine(d.Path, "r2"), new[] { "--from-weight", extra, "--allow-partial-load" }.Concat(Small).ToArray());
        Assert.True(code == 0, o);
        Assert.Contains("file keys the model does not use (1): layers.0.attention.extra.weight", o);
        (code, o) = Train(Path.Combine(d.Path, "r3"), "--from-weight", src);
        Assert.True(code == 0, o);
        Assert.Contains($"initialised from {src}: all 21 parameters loaded", o);
    }

    [Fact]
    public void DpoReadsItsStartOnce_AndSaysATiedHeadNoteOnce()
    {
        using var d = new TempDir();
        var src = Made(d.Path, "minimind-v1");
        // the trainer's file with the head stored apart and changed: the tied model reports it (and takes the head)
        var sd = StateDict.Read(src);
        var head = sd["output.weight"].ToFloat32();
        head[3] += 0.5f;
        var parts = new StateDict { Extras = sd.Extras };
        foreach (var k in sd.Keys) parts.Add(k, k == "output.weight" ? TorchTensor.FromFloat32(head, sd[k].Shape, TorchDType.F16) : sd[k]);
        var differ = Path.Combine(d.Path, "differ.pth");
        PthWriter.WriteStateDict(differ, parts);
        var (code, o) = Train(Path.Combine(d.Path, "dpo"), "--stage", "dpo", "--from-weight", differ);
        Assert.True(code == 0, o);
        Assert.Single(Regex.Matches(o, "differ by up to"));
        Assert.Contains("reference (frozen, sha256:", o); // the reference loaded the same file
        Assert.Contains($"initialised from {differ}: all 21 parameters loaded", o);
    }
}

using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Cli;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Export;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// `minimind convert --to hf` against MiniMind's convert_model.py (config fields from MiniMind's own code) and an
/// independent PyTorch Qwen3/Qwen3-MoE/Llama forward written from config.json (tools/hf/hf_forward.py); the folder
/// read back through --weights gives the same logits.
/// </summary>
public sealed class HfFolderTests
{
    private static readonly int[] Ids = { 1, 5, 7, 9, 3, 60, 2, 17, 88, 41, 0, 12 };
    private static string Script => Path.Combine(ModelTestPaths.RepoRoot, "tools", "hf", "hf_forward.py");

    private static float[] Logits(ModelConfig c, StateDict sd)
    {
        using var be = new CpuBackend();
        using var m = MiniMindModel.Create(c, be, 1, Ids.Length);
        m.LoadStateDict(sd);
        return m.Logits(Ids, 1, Ids.Length);
    }

    private static string Export(string fixture, string dir, string dtype)
    {
        var arch = fixture[..fixture.LastIndexOf('-')];
        var outDir = Path.Combine(dir, fixture);
        var args = new List<string> { "convert", Path.Combine(ModelTestPaths.Fixture(fixture), "model.pth"), outDir, "--to", "hf", "--dtype", dtype };
        if (arch == "minimind-v1") args.AddRange(new[] { "--arch", "minimind-v1" });
        var (code, stdout, stderr) = CliProcess.Exec(null, args.ToArray());
        Assert.True(code == 0, stdout + stderr);
        return outDir;
    }

    [Theory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind3-moe")]
    [InlineData("minimind2-hf-dense")]
    [InlineData("minimind2-dense")]
    [InlineData("minimind-v1-dense")]
    public void ExportedFolder_ReadBack_GivesTheSameLogits(string fixture)
    {
        var fx = ModelFixture.Load(fixture);
        var dir = ModelTestPaths.TempDir();
        try
        {
            var outDir = Export(fixture, dir, "f32");
            Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
            var c = ModelOptions.Parse(new ArgParser(Array.Empty<string>()), outDir, out var sd);
            var expected = Logits(fx.Config, fx.Weights);
            var actual = Logits(c, sd!);
            if (fx.Config.Rope == Kernels.RopeLayout.Interleaved)
                Assert.InRange(ModelFixture.RelErr(actual, expected), 0, 1e-5); // permuted q/k: the same sums in another order
            else
                Assert.Equal(expected, actual); // same layout, same weights: the same bits
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableTheory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind3-moe")]
    [InlineData("minimind2-hf-dense")]
    [InlineData("minimind2-dense")]
    [InlineData("minimind-v1-dense")]
    public void ExportedTensorsAreTheSourceBitForBit_AndAQwen3LlamaForwardFromConfigGivesOurLogits(string fixture)
    {
        TestEnvironment.RequireTool(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        var fx = ModelFixture.Load(fixture);
        var dir = ModelTestPaths.TempDir();
        try
        {
            var outDir = Export(fixture, dir, "f32");
            var arch = fixture[..fixture.LastIndexOf('-')];
            var (code, stdout, stderr) = TestEnvironment.RunPython(new[] { Script, "check", outDir, fx.WeightsPath, arch });
            Assert.True(code == 0, stdout + stderr);
            (code, stdout, stderr) = TestEnvironment.RunPython(new[] { Script, "logits", outDir, string.Join(',', Ids) });
            Assert.True(code == 0, stderr);
            var reference = JsonDocument.Parse(stdout).RootElement.GetProperty("logits").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Assert.InRange(ModelFixture.RelErr(Logits(fx.Config, fx.Weights), reference), 0, 2e-5);
            // f16 (convert_model.py's default): still the source's values rounded once, bit for bit per torch's .half()
            var half = Export(fixture, Path.Combine(dir, "f16"), "f16");
            var st = SafetensorsFile.Read(Path.Combine(half, "model.safetensors")).ToStateDict();
            Assert.All(st, kv => Assert.Equal(TorchDType.F16, kv.Value.DType));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind3-moe")]
    public void ConfigJson_HasConvertModelPysFieldsAndValues(string name)
    {
        // tests/fixtures/hf/convert_model_configs.json: MiniMind's MiniMindConfig defaults through convert_model.py's common_config
        var path = Path.Combine(TestEnvironment.Fixtures("hf"), "convert_model_configs.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var @case = doc.RootElement.GetProperty("cases").GetProperty(name);
        var c = ModelConfig.Preset("minimind3") with { MaxSeqLen = 32768, UseMoe = @case.GetProperty("use_moe").GetBoolean() };
        var ours = JsonDocument.Parse(HfFolderWriter.Config(c, TorchDType.F16).ToJsonString()).RootElement;
        foreach (var f in @case.GetProperty("expected").EnumerateObject())
        {
            Assert.True(ours.TryGetProperty(f.Name, out var v), $"config.json lacks '{f.Name}'");
            if (f.Value.ValueKind == JsonValueKind.Number) Assert.Equal(f.Value.GetDouble(), v.GetDouble());
            else Assert.Equal(f.Value.GetRawText(), v.GetRawText());
        }
        Assert.Equal(c.UseMoe ? "qwen3_moe" : "qwen3", ours.GetProperty("model_type").GetString());
        Assert.Equal(c.UseMoe ? "Qwen3MoeForCausalLM" : "Qwen3ForCausalLM", ours.GetProperty("architectures")[0].GetString());
        // the script's transformers-5 fix-ups
        Assert.Equal(JsonValueKind.Null, ours.GetProperty("rope_scaling").ValueKind);
        Assert.False(ours.TryGetProperty("rope_parameters", out _));
        // and our reader maps it back onto the same architecture
        var back = ModelConfigJson.Apply(ModelConfig.Preset(ModelConfigJson.DetectArch(ours)!), ours, "config.json");
        Assert.Equal(c with { HiddenDim = c.EffectiveHiddenDim }, back with { HiddenDim = back.EffectiveHiddenDim, AuxAlpha = c.AuxAlpha });
    }

    [SkippableFact]
    public void TokenizerFilesAreCopied_WithConvertModelPysTokenizerClass_AndGenerateReadsTheFolder()
    {
        var shared = TestEnvironment.FindUp(Path.Combine("shared", "minimind", "v3"));
        Skip.If(shared is null, "shared/minimind/v3 (MiniMind's tokenizer) not found; tokenizer copy check skipped");
        var dir = ModelTestPaths.TempDir();
        try
        {
            using var be = new CpuBackend();
            var c = ModelConfig.Preset("minimind3") with { Dim = 32, NLayers = 1, NHeads = 4, NKvHeads = 2, VocabSize = 6400, MaxSeqLen = 64 };
            using var m = MiniMindModel.Create(c, be, 1, 8);
            m.InitRandom(3);
            var pth = Path.Combine(dir, "w.pth");
            PthWriter.WriteStateDict(pth, m.ExportStateDict());
            var outDir = Path.Combine(dir, "hf");
            var (code, so, se) = CliProcess.Exec(null, "convert", pth, outDir, "--to", "hf", "--tokenizer", shared!, "--arch", "minimind3", "--n-heads", "4");
            Assert.True(code == 0, so + se);
            Assert.Equal(File.ReadAllBytes(Path.Combine(shared!, "tokenizer.json")), File.ReadAllBytes(Path.Combine(outDir, "tokenizer.json")));
            using var tc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "tokenizer_config.json")));
            Assert.Equal("PreTrainedTokenizerFast", tc.RootElement.GetProperty("tokenizer_class").GetString());
            Assert.Equal("<|im_start|>", tc.RootElement.GetProperty("bos_token").GetString());
            // generate from the folder alone (config.json + tokenizer inside) equals generate from the .pth
            var (c1, a, e1) = CliProcess.Exec(null, "generate", "--weights", outDir, "--prompt", "你好", "--greedy", "--max-new-tokens", "6", "--print-ids", "--eos-id", "-1");
            var (c2, b, e2) = CliProcess.Exec(null, "generate", "--weights", pth, "--arch", "minimind3", "--n-heads", "4", "--tokenizer", shared!, "--prompt", "你好", "--greedy", "--max-new-tokens", "6", "--print-ids", "--eos-id", "-1");
            Assert.True(c1 == 0 && c2 == 0, e1 + e2);
            Assert.Equal(b.Trim().Split('\n')[^1], a.Trim().Split('\n')[^1]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void GenerationsWithoutAnHfClassAreRefusedSayingWhy()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var (code, _, stderr) = CliProcess.Exec(null, "convert", Path.Combine(ModelTestPaths.Fixture("minimind2-moe"), "model.pth"), Path.Combine(dir, "x"), "--to", "hf");
            Assert.Equal(1, code);
            Assert.Contains("no transformers class", stderr);
            Assert.False(Directory.Exists(Path.Combine(dir, "x")));
        }
        finally { Directory.Delete(dir, true); }
    }
}

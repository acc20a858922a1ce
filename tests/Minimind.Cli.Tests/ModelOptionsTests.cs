using System.Text.Json;
using Minimind.Cli;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;

namespace Minimind.Cli.Tests;

/// <summary>--arch/overrides, config.json, checkpoint shape inference and the generate CLI end to end.</summary>
public sealed class ModelOptionsTests
{
    [Theory]
    [InlineData("minimind-v1-dense", "minimind-v1")]
    [InlineData("minimind2-moe", "minimind2")]
    [InlineData("minimind2-hf-moe", "minimind2-hf")]
    [InlineData("minimind3-dense", "minimind3")]
    public void ConfigJson_GenerationIsDetectedFromItsFieldNames(string fixture, string arch)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelTestPaths.Fixture(fixture), "config.json")));
        Assert.Equal(arch, ModelConfigJson.DetectArch(doc.RootElement));
    }

    [Fact]
    public void ConfigJson_BesideTheWeights_GivesTheFixtureConfig()
    {
        var fx = ModelFixture.Load("minimind2-hf-moe");
        var c = ModelOptions.Parse(new ArgParser(Array.Empty<string>()), fx.WeightsPath);
        Assert.Equal(fx.Config, c);
        Assert.Equal(0.5f, c.AuxAlpha);
        Assert.Equal(1, c.NSharedExperts);
    }

    [Fact]
    public void WithoutConfigJson_ShapesComeFromTheCheckpoint_AndTheModelMatchesPyTorch()
    {
        var fx = ModelFixture.Load("minimind3-moe");
        var dir = ModelTestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "model.pth");
            File.Copy(fx.WeightsPath, path);
            // nothing but the preset's non-shape fields: eps 1e-6, θ 1e6, top-1 come from minimind3; aux weight from the flag
            var c = ModelOptions.Parse(new ArgParser(new[] { "--aux-alpha", "0.5", "--max-seq-len", "64" }), path, out var sd);
            Assert.Equal("minimind3", c.Arch);
            Assert.Equal((32, 2, 4, 2, 96, 32, true, 4, 0), (c.Dim, c.NLayers, c.NHeads, c.NKvHeads, c.VocabSize, c.HiddenDim, c.UseMoe, c.NExperts, c.NSharedExperts));
            Assert.Equal(fx.Config, c);
            using var be = new CpuBackend();
            using var m = MiniMindModel.Create(c, be, 2, 16);
            m.LoadStateDict(sd!);
            var batch = fx.Batch();
            Assert.True(ModelFixture.RelErr(m.Logits(batch.Inputs, 2, 16), fx.F("logits")) < 1e-5);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ShapeDisagreement_NamesTheKeyAndBothShapes()
    {
        var fx = ModelFixture.Load("minimind2-dense");
        var ex = Assert.Throws<InvalidDataException>(() => ModelOptions.Parse(new ArgParser(new[] { "--hidden-dim", "64" }), fx.WeightsPath));
        Assert.Contains("layers.0.feed_forward.w1.weight", ex.Message);
        Assert.Contains("[128, 32]", ex.Message);
        Assert.Contains("[64, 32]", ex.Message);
    }

    [Fact]
    public void NewModel_PresetAndOverrides()
    {
        var c = ModelOptions.Parse(new ArgParser(new[] { "--arch", "minimind-v1", "--dim", "64", "--use-moe", "--n-experts", "8", "--top-k", "2" }), null);
        Assert.Equal((ModelGeneration.V2024, 64, 8, true, 8, 2, 1e4f), (c.Generation, c.Dim, c.NLayers, c.UseMoe, c.NExperts, c.TopK, c.RopeTheta));
        Assert.Equal(192, c.EffectiveHiddenDim); // int(8·64/3) = 170 → next multiple of 64
        Assert.Throws<UsageException>(() => ModelOptions.Parse(new ArgParser(new[] { "--arch", "gpt2" }), null));
        Assert.Throws<UsageException>(() => ModelOptions.Parse(new ArgParser(new[] { "--dim", "30", "--n-heads", "4" }), null));
    }

    [Fact]
    public void GenerateCommand_GreedyIds_AreTheLastLine_AndMatchPyTorch()
    {
        var fx = ModelFixture.Load("minimind-v1-moe");
        var (code, stdout, stderr) = CliProcess.Exec(null, "generate", "--weights", fx.WeightsPath, "--arch", "minimind-v1",
            "--prompt-ids", string.Join(',', fx.I("prompt")), "--greedy", "--max-new-tokens", "32", "--eos-id", "-1", "--print-ids");
        Assert.True(code == 0, stderr);
        var last = stdout.TrimEnd().Split('\n')[^1];
        Assert.Equal(string.Join(' ', fx.I("greedy")), last.Trim());
    }
}

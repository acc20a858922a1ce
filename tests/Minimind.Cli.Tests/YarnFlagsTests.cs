using System.Text.Json.Nodes;
using Minimind.Checkpoint;
using Minimind.Cli.Commands;
using Minimind.Model;
using Minimind.Model.Export;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Model;

namespace Minimind.Cli.Tests;

/// <summary>
/// The YaRN flags (--rope-scaling, --rope-factor, --rope-original-max) and the files that carry the setting back: the
/// architecture record (no flags needed, --rope-scaling none drops it) and an HF folder's config.json written by convert.
/// </summary>
public sealed class YarnFlagsTests
{
    [Fact]
    public void Flags_SetTheScaling_AndFilesWrittenWithItCarryItBack()
    {
        var fx = ModelFixture.Load("minimind3-dense");
        ModelConfig P(string weights, params string[] a) => ModelOptions.Parse(new ArgParser(a, GenerateCommand.Table), weights);
        Assert.Null(P(fx.WeightsPath).RopeScaling);
        Assert.Equal(RopeScaling.MiniMind, P(fx.WeightsPath, "--rope-scaling", "yarn").RopeScaling);
        Assert.Equal(new RopeScaling(4, 2048), P(fx.WeightsPath, "--rope-factor", "4").RopeScaling);
        Assert.Equal(new RopeScaling(16, 64), P(fx.WeightsPath, "--rope-scaling", "yarn", "--rope-original-max", "64").RopeScaling);
        Assert.Contains("--rope-scaling none", Assert.Throws<UsageException>(() => P(fx.WeightsPath, "--rope-scaling", "none", "--rope-factor", "2")).Message);
        Assert.Contains("--rope-factor 0", Assert.Throws<UsageException>(() => P(fx.WeightsPath, "--rope-factor", "0")).Message);

        var dir = ModelTestPaths.TempDir();
        try
        {
            // a file with the architecture record: the scaling comes back without flags, --rope-scaling none drops it
            var pth = Path.Combine(dir, "yarn.pth");
            PthWriter.WriteStateDict(pth, ArchitectureRecord.Attach(StateDict.Read(fx.WeightsPath), fx.Config with { RopeScaling = new RopeScaling(8, 32) }, null));
            Assert.Equal(new RopeScaling(8, 32), P(pth).RopeScaling);
            Assert.Equal(new RopeScaling(2, 32), P(pth, "--rope-factor", "2").RopeScaling);
            Assert.Null(P(pth, "--rope-scaling", "none").RopeScaling);
            // an HF folder: config.json's rope_scaling
            var hf = Path.Combine(dir, "hf");
            var (code, so, se) = CliProcess.Exec(null, "convert", fx.WeightsPath, hf, "--to", "hf", "--rope-scaling", "yarn", "--rope-factor", "4", "--rope-original-max", "16");
            Assert.True(code == 0, so + se);
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(hf, "config.json")))!;
            Assert.Equal(HfFolderWriter.RopeScalingJson(new RopeScaling(4, 16))!.ToJsonString(), json["rope_scaling"]!.ToJsonString());
            Assert.Equal(new RopeScaling(4, 16), P(hf).RopeScaling);
        }
        finally { Directory.Delete(dir, true); }
    }
}

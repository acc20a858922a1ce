using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;

using Minimind.Tests;
namespace Minimind.Model.Tests.Model;

/// <summary>A C#-initialised model exported to .pth loads into the PyTorch reference with strict=True and gives the same logits.</summary>
public sealed class TorchExportTests
{
    [SkippableTheory]
    [InlineData("minimind-v1", "moe")]
    [InlineData("minimind3", "dense")]
    public void ExportedWeights_LoadStrictlyInPyTorch_AndGiveTheSameLogits(string preset, string kind)
    {
        TestEnvironment.RequireTool(ModelTestPaths.HasTorch, "needs PyTorch at /usr/bin/python3 (apt-get install python3-torch)");
        var fx = ModelFixture.Load($"{preset}-{kind}");
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(fx.Config, be, 1, 12);
        model.InitRandom(1234);
        var dir = ModelTestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "exported.pth");
            PthWriter.WriteStateDict(path, model.ExportStateDict());
            var ids = Enumerable.Range(0, 12).Select(i => (i * 37 + 5) % fx.Config.VocabSize).ToArray();
            var script = Path.Combine(ModelTestPaths.RepoRoot, "tools", "reference", "check_export.py");
            var (code, stdout, stderr) = ModelTestPaths.RunPython($"\"{script}\" \"{path}\" {preset} {kind} {string.Join(',', ids)}");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            Assert.True(doc.RootElement.GetProperty("tied").GetBoolean());
            Assert.Equal(model.Parameters.Entries.Select(e => e.Name), doc.RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
            var want = doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            var got = model.Logits(ids, 1, ids.Length);
            Assert.True(ModelFixture.RelErr(got, want) < 1e-5);
        }
        finally { Directory.Delete(dir, true); }
    }
}

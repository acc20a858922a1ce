using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Tests;
using Minimind.Cli;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>The <c>inspect</c> and <c>convert</c> commands, run through the real entry point.</summary>
[Collection("console")]
public class CliCommandTests
{
    private static readonly object ConsoleLock = new();

    internal static (int code, string stdout, string stderr) Run(params string[] args)
    {
        lock (ConsoleLock)
        {
            var o = Console.Out; var e = Console.Error;
            var so = new StringWriter(); var se = new StringWriter();
            Console.SetOut(so); Console.SetError(se);
            try { return (Program.Main(args), so.ToString(), se.ToString()); }
            finally { Console.SetOut(o); Console.SetError(e); }
        }
    }

    [Fact]
    public void InspectJsonListsEveryTensorAndTheNestedStructure()
    {
        var (code, stdout, stderr) = Run("inspect", TestPaths.Fixture("resume.pth"), "--json");
        Assert.True(code == 0, stderr);
        var j = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("zip", j.GetProperty("format").GetString());
        Assert.Equal("resume", j.GetProperty("top_folder").GetString());
        var keys = j.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("key").GetString()).ToArray();
        Assert.Equal(new[] { "model/0.weight", "model/1.weight", "optimizer/state/0/step", "optimizer/state/0/exp_avg", "optimizer/state/0/exp_avg_sq" }, keys);
        var t0 = j.GetProperty("tensors")[0];
        Assert.Equal("f32", t0.GetProperty("dtype").GetString());
        Assert.Equal(new[] { 8, 4 }, t0.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(128, t0.GetProperty("bytes").GetInt64());
        Assert.Equal(t0.GetProperty("storage_key").GetString(), j.GetProperty("tensors")[1].GetProperty("storage_key").GetString());
        Assert.Equal(4, j.GetProperty("storages").GetArrayLength());
        Assert.Equal(516, j.GetProperty("total_tensor_bytes").GetInt64());
        Assert.Equal(388, j.GetProperty("total_storage_bytes").GetInt64());
        var s = j.GetProperty("structure");
        Assert.Equal(3, s.GetProperty("epoch").GetInt64());
        Assert.Equal(0.0005, s.GetProperty("optimizer").GetProperty("param_groups")[0].GetProperty("lr").GetDouble());
    }

    [Fact]
    public void InspectTextShowsFormatTiesAndViews()
    {
        var (code, stdout, _) = Run("inspect", TestPaths.Fixture("minimind2024_legacy.pth"));
        Assert.Equal(0, code);
        Assert.Contains("legacy (torch < 1.6)", stdout);
        Assert.Contains("(shares storage with tok_embeddings.weight)", stdout);
        Assert.Contains("(view: offset 5, stride [5, 1])", stdout);
        Assert.Contains("total: 23 tensors", stdout);
        var (code2, _, err2) = Run("inspect", TestPaths.Fixture("malicious_os_system.pth"));
        Assert.Equal(1, code2);
        Assert.Contains("posix.system", err2);
    }

    [Fact]
    public void ConvertLegacyPrefixedF32ToZipF16WithoutPrefixes()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var outPath = Path.Combine(dir, "out.pth");
            var (code, stdout, stderr) = Run("convert", TestPaths.Fixture("prefixed_f32.pth"), outPath, "--dtype", "f16", "--strip-prefix");
            Assert.True(code == 0, stderr);
            Assert.Contains("converted", stdout);
            var src = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
            var got = PthReader.Read(outPath);
            Assert.Equal(PthFormat.Zip, got.Format);
            Assert.Equal("out", got.TopFolder);
            var sd = StateDict.FromRoot(got.Root);
            Assert.Equal(src.Keys, sd.Keys);
            foreach (var (k, t) in sd)
            {
                Assert.Equal(TorchDType.F16, t.DType);
                var want = src[k].ToFloat32().Select(x => (float)(Half)x).ToArray();
                Assert.Equal(want, t.ToFloat32());
            }
            Assert.Same(sd["tok_embeddings.weight"].Storage, sd["output.weight"].Storage);

            var legacyOut = Path.Combine(dir, "legacy.pth");
            Assert.Equal(0, Run("convert", TestPaths.Fixture("minimind2024_legacy.pth"), legacyOut).code);
            var a = StateDict.Read(TestPaths.Fixture("minimind2024_legacy.pth"));
            var b = StateDict.Read(legacyOut);
            Assert.Equal(PthFormat.Zip, PthReader.Read(legacyOut).Format);
            foreach (var k in a.Keys) Assert.Equal(a[k].ToContiguousBytes(), b[k].ToContiguousBytes());
            Assert.Equal(a["view.transposed"].Stride, b["view.transposed"].Stride);
            Assert.Same(b["view.offset"].Storage, b["view.transposed"].Storage);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConvertResumeCastsOnlyTheModel()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var outPath = Path.Combine(dir, "r.pth");
            Assert.Equal(0, Run("convert", TestPaths.Fixture("resume.pth"), outPath, "--dtype", "bf16").code);
            var root = (PickleDict)PthReader.Read(outPath).Root!;
            var model = StateDict.FromRoot(root);
            Assert.All(model, kv => Assert.Equal(TorchDType.BF16, kv.Value.DType));
            var st = (PickleDict)((PickleDict)((PickleDict)root["optimizer"]!)["state"]!)[0L]!;
            Assert.Equal(TorchDType.F32, ((TorchTensor)st["exp_avg"]!).DType);
            Assert.Equal(12345L, root["step"]);
            Assert.Equal(long.MaxValue, root["huge"]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void UsageMistakesExitWithTwoAndNameTheProblem()
    {
        var (c1, _, e1) = Run("convert", TestPaths.Fixture("views.pth"));
        Assert.Equal(2, c1); Assert.Contains("missing argument: OUT", e1);
        var (c2, _, e2) = Run("convert", TestPaths.Fixture("views.pth"), "/tmp/x.pth", "--dtype", "int8");
        Assert.Equal(2, c2); Assert.Contains("int8", e2);
        var (c3, _, e3) = Run("inspect", "/nonexistent/file.pth");
        Assert.Equal(1, c3); Assert.Contains("/nonexistent/file.pth", e3);
        var (c4, o4, _) = Run("convert", "--help");
        Assert.Equal(0, c4); Assert.Contains("--strip-prefix", o4); Assert.Contains("--dtype f32|f16|bf16", o4);
    }

    [SkippableTheory]
    [InlineData("torch1")]
    [InlineData("torch2")]
    public void ConvertedFileLoadsInTorchWeightsOnly(string torchName)
    {
        var torch = TestEnvironment.Torch(torchName);
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        var dir = TestPaths.TempDir();
        try
        {
            var outPath = Path.Combine(dir, "conv.pth");
            Assert.Equal(0, Run("convert", TestPaths.Fixture("minimind2024_legacy.pth"), outPath, "--dtype", "bf16").code);
            var doc = TestPaths.TorchDump(new[] { outPath }, torch: torch).GetProperty(outPath);
            Assert.Equal("weights_only", doc.GetProperty("mode").GetString());
            TorchView.AssertSame("conv.pth", PthReader.Read(outPath).Root!, doc.GetProperty("values"));
        }
        finally { Directory.Delete(dir, true); }
    }
}

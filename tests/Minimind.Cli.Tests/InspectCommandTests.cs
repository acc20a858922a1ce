using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Tests;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>`minimind inspect` on .safetensors and GGUF files.</summary>
[Collection("console")]
public class InspectCommandTests
{
    private static string St(string name) => Path.Combine(TestEnvironment.Fixtures("safetensors"), name);

    [Fact]
    public void InspectSafetensorsListsEveryTensorAsTheHeaderSays()
    {
        var (code, stdout, stderr) = CliCommandTests.Run("inspect", St("dtypes.safetensors"), "--json");
        Assert.True(code == 0, stderr);
        var f = JsonDocument.Parse(stdout).RootElement.GetProperty("files")[0];
        var st = SafetensorsFile.Read(St("dtypes.safetensors"));
        Assert.Equal(st.Entries.Select(e => e.Name), f.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("st_torch.py", f.GetProperty("metadata").GetProperty("writer").GetString());
        (code, stdout, _) = CliCommandTests.Run("inspect", St("minimind3_bf16.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("BF16", stdout);
        Assert.Contains("model.layers.0.self_attn.q_norm.weight", stdout);
    }

    [Fact]
    public void InspectGgufShowsMetadataAndBothShapeOrders_AndTheReaderRoundTrips()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var path = GgufSamples.Small(dir);
            var g = GgufFile.Read(path);
            Assert.Equal(3u, g.Version);
            Assert.Equal(new long[] { 4, 3 }, g.Tensors[0].Dims); // ggml order
            Assert.Equal(0, g.DataStart % GgufWriter.Alignment);
            Assert.All(g.Tensors, t => Assert.Equal(0, t.Offset % GgufWriter.Alignment));
            Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 0.5f), g.ReadFloat32(g.Tensors[0]));
            var (code, stdout, stderr) = CliCommandTests.Run("inspect", path, "--json");
            Assert.True(code == 0, stderr);
            var j = JsonDocument.Parse(stdout).RootElement;
            Assert.Equal("llama", j.GetProperty("metadata").GetProperty("general.architecture").GetString());
            Assert.Equal(1e6, j.GetProperty("metadata").GetProperty("llama.rope.freq_base").GetDouble());
            Assert.Equal(3, j.GetProperty("metadata").GetProperty("tokenizer.ggml.tokens").GetProperty("length").GetInt32());
            Assert.Equal(new long[] { 3, 4 }, j.GetProperty("tensors")[0].GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
            Assert.Equal("f16", j.GetProperty("tensors")[0].GetProperty("type").GetString());
            (code, stdout, _) = CliCommandTests.Run("inspect", path);
            Assert.Equal(0, code);
            Assert.Contains("GGUF v3", stdout);
            Assert.Contains("torch [3, 4]", stdout);
        }
        finally { Directory.Delete(dir, true); }
    }

}

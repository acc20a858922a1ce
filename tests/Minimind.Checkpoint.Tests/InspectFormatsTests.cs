using System.Text.Json;
using Minimind.Tests;

namespace Minimind.Checkpoint.Tests;

/// <summary>`minimind inspect` on .safetensors, GGUF and HF folders, and the GGUF header reader on hostile input.</summary>
[Collection("console")]
public class InspectFormatsTests
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

    private static string SmallGguf(string dir)
    {
        var path = Path.Combine(dir, "t.gguf");
        new GgufWriter()
            .Add("general.architecture", GgufValue.Of("llama"))
            .Add("llama.block_count", GgufValue.U32(2))
            .Add("llama.rope.freq_base", GgufValue.F32(1e6))
            .Add("tokenizer.ggml.tokens", GgufValue.Strings(new[] { "a", "b", "c" }))
            .AddTensor("token_embd.weight", Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray(), new[] { 3, 4 }, GgmlType.F16)
            .AddTensor("output_norm.weight", new[] { 1f, 2f, 3f, 4f }, new[] { 4 }, GgmlType.F32)
            .Write(path);
        return path;
    }

    [Fact]
    public void InspectGgufShowsMetadataAndBothShapeOrders_AndTheReaderRoundTrips()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var path = SmallGguf(dir);
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

    [Fact]
    public void GgufMutationsOnlyEverRaisePthFormatException()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var src = File.ReadAllBytes(SmallGguf(dir));
            var rnd = new Random(1201);
            int ok = 0;
            for (int i = 0; i < 3000; i++)
            {
                var b = (byte[])src.Clone();
                for (int m = 1 + rnd.Next(3); m > 0; m--)
                {
                    int pos = rnd.Next(Math.Min(b.Length, 400));
                    if (rnd.Next(5) == 0) { Array.Resize(ref b, pos); break; }
                    b[pos] = rnd.Next(2) == 0 ? (byte)rnd.Next(256) : (byte)(b[pos] ^ (1 << rnd.Next(8)));
                }
                try { GgufFile.Parse(b, "fuzz.gguf"); ok++; }
                catch (PthFormatException) { }
            }
            Assert.InRange(ok, 1, 2999);
        }
        finally { Directory.Delete(dir, true); }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model.Export;
using Minimind.Model.Layers;

namespace Minimind.Model.Tests.Model;

/// <summary>
/// YaRN (<c>--rope-scaling yarn</c>) against MiniMind's own <c>precompute_freqs_cis</c> and model (model_minimind.py run
/// by tools/reference/yarn_ref.py; fixtures in tests/fixtures/model/yarn): the RoPE tables, the rule that MiniMind
/// scales only when its table (max_position_embeddings) exceeds the original context, and the logits of a tiny
/// minimind-3 with inference_rope_scaling. Also where the setting lives: the architecture record and config.json
/// (MiniMindConfig's dict, read back); the flags are Minimind.Cli.Tests' YarnFlagsTests.
/// </summary>
public sealed class YarnTests
{
    private static string Dir => ModelTestPaths.Fixture("yarn");
    private static PickleDict Pth(string file) => (PickleDict)PthReader.Read(Path.Combine(Dir, file)).Root!;
    private static TorchTensor T(PickleDict d, string key) => (TorchTensor)d[key]!;

    private static JsonElement Cases() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "cases.json"))).RootElement;

    private static RopeScaling? FromDict(JsonElement rs) => rs.ValueKind == JsonValueKind.Null ? null : new RopeScaling(
        rs.GetProperty("factor").GetDouble(), rs.GetProperty("original_max_position_embeddings").GetInt32(),
        rs.GetProperty("beta_fast").GetDouble(), rs.GetProperty("beta_slow").GetDouble(), rs.GetProperty("attention_factor").GetDouble());

    [Fact]
    public void RopeTables_EqualMiniMindsPrecomputeFreqsCis()
    {
        var tables = Pth("tables.pth");
        var unscaledDiffers = new List<string>();
        foreach (var c in Cases().GetProperty("tables").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            int dim = c.GetProperty("head_dim").GetInt32(), end = c.GetProperty("end").GetInt32(), half = dim / 2;
            float theta = (float)c.GetProperty("rope_base").GetDouble();
            var rs = FromDict(c.GetProperty("rope_scaling"));
            // MiniMind's rule, with its table length: scaled only when end exceeds the original context
            var applied = rs is { } r && r.AppliesAt(end) ? rs : null;
            var (cos, sin) = RopeTables.Compute(dim, end, theta, applied);
            var pos = T(tables, name + "/pos").ToInt64();
            var wantCos = T(tables, name + "/cos").ToFloat32();
            var wantSin = T(tables, name + "/sin").ToFloat32();
            double maxErr = 0;
            for (int k = 0; k < pos.Length; k++)
                for (int i = 0; i < half; i++)
                {
                    maxErr = Math.Max(maxErr, Math.Abs(cos[pos[k] * half + i] - wantCos[k * half + i]));
                    maxErr = Math.Max(maxErr, Math.Abs(sin[pos[k] * half + i] - wantSin[k * half + i]));
                }
            Assert.True(maxErr <= 2e-6, $"{name}: max |ours - MiniMind| = {maxErr:E2}");
            // the unscaled table differs where scaling applies, so the comparison above could fail
            var (plainCos, _) = RopeTables.Compute(dim, end, theta);
            double d = 0;
            for (int k = 0; k < pos.Length; k++) for (int i = 0; i < half; i++) d = Math.Max(d, Math.Abs(plainCos[pos[k] * half + i] - wantCos[k * half + i]));
            if (d > 1e-3) unscaledDiffers.Add(name);
        }
        Assert.Equal(new[] { "minimind", "small-original", "base-1e4-attn" }, unscaledDiffers);
    }

    private static float[] OurLogits(RopeScaling? scaling, int[] ids)
    {
        var cfg = Cases().GetProperty("model");
        var c = ModelConfig.Preset("minimind3") with
        {
            Dim = cfg.GetProperty("hidden_size").GetInt32(), NLayers = cfg.GetProperty("num_hidden_layers").GetInt32(),
            NHeads = cfg.GetProperty("num_attention_heads").GetInt32(), NKvHeads = cfg.GetProperty("num_key_value_heads").GetInt32(),
            VocabSize = cfg.GetProperty("vocab_size").GetInt32(),
            // our table is as long as the context (48), MiniMind's is 32768: scaling still applies at every position
            MaxSeqLen = ids.Length, RopeScaling = scaling,
        };
        using var be = new CpuBackend();
        using var m = MiniMindModel.Create(c, be, 1, ids.Length);
        var report = m.LoadStateDict(StateDict.Read(Path.Combine(Dir, "model.pth")));
        Assert.True(report.IsComplete, report.ToString());
        return m.Logits(ids, 1, ids.Length);
    }

    [Theory]
    [InlineData("minimind")]
    [InlineData("small-original")]
    [InlineData("none")]
    public void Logits_EqualMiniMindsModelWithInferenceRopeScaling(string name)
    {
        var logits = Pth("logits.pth");
        var ids = T(logits, "input_ids").ToInt64().Select(v => (int)v).ToArray();
        RopeScaling? scaling = name switch { "minimind" => RopeScaling.MiniMind, "small-original" => new RopeScaling(4, 16), _ => null };
        var ours = OurLogits(scaling, ids);
        var want = T(logits, name).ToFloat32();
        double err = ModelFixture.RelErr(ours, want);
        Assert.True(err < 1e-5, $"{name}: logits rel err {err:E2}");
        if (name != "none")
            Assert.True(ModelFixture.RelErr(T(logits, "none").ToFloat32(), want) > 1e-3, "the scaled and unscaled references should differ");
    }

    [Fact]
    public void ConfigJsonDict_IsMiniMindConfigs_AndReadsBack()
    {
        // the dict exactly as MiniMindConfig holds it (key order, 32 / 1 / 16 / 2048 as ints, 1.0 as a float)
        var minimind = Cases().GetProperty("tables")[0].GetProperty("rope_scaling");
        string want = "{" + string.Join(",", minimind.EnumerateObject().Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}")) + "}";
        Assert.Equal(want, HfFolderWriter.RopeScalingJson(RopeScaling.MiniMind)!.ToJsonString());
        Assert.Null(HfFolderWriter.RopeScalingJson(null));

        var dir = ModelTestPaths.TempDir();
        try
        {
            ModelConfig Load(string json)
            {
                var p = Path.Combine(dir, "config.json");
                File.WriteAllText(p, json);
                return ModelConfigJson.Load(p);
            }
            string qwen(string rs) => $$"""{"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4, "max_position_embeddings": 512, "rope_scaling": {{rs}}}""";
            var hf = HfFolderWriter.Config(ModelConfig.Preset("minimind3") with { RopeScaling = new RopeScaling(4, 16, AttentionFactor: 0.5) }, TorchDType.F32);
            Assert.Equal(new RopeScaling(4, 16, AttentionFactor: 0.5), Load(hf.ToJsonString()).RopeScaling);
            Assert.Equal(RopeScaling.MiniMind, Load(qwen(want)).RopeScaling);
            Assert.Null(Load(qwen("null")).RopeScaling);
            // MiniMindConfig's own file: the flag decides, and its rule uses max_position_embeddings
            Assert.Equal(RopeScaling.MiniMind, Load("""{"hidden_size": 64, "num_attention_heads": 4, "inference_rope_scaling": true, "max_position_embeddings": 32768}""").RopeScaling);
            Assert.Null(Load("""{"hidden_size": 64, "num_attention_heads": 4, "inference_rope_scaling": true, "max_position_embeddings": 2048}""").RopeScaling);
            Assert.Null(Load("""{"hidden_size": 64, "num_attention_heads": 4, "inference_rope_scaling": false, "rope_scaling": {"type": "yarn"}}""").RopeScaling);
            // refused rather than guessed
            Assert.Contains("linear", Assert.Throws<NotSupportedException>(() => Load(qwen("""{"type": "linear", "factor": 2}"""))).Message);
            Assert.Contains("mscale", Assert.Throws<NotSupportedException>(() => Load(qwen("""{"type": "yarn", "factor": 2, "original_max_position_embeddings": 16, "attention_factor": 1, "mscale": 1}"""))).Message);
            Assert.Contains("attention_factor", Assert.Throws<InvalidDataException>(() => Load(qwen("""{"type": "yarn", "factor": 2, "original_max_position_embeddings": 16}"""))).Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ArchitectureRecord_CarriesTheScaling_AndRecordsWithoutItAreUnchanged()
    {
        var c = ModelConfig.Preset("minimind3") with { HiddenDim = 2432, RopeScaling = new RopeScaling(2.5, 300, 16, 2, 0.75) };
        Assert.Equal(c, ArchitectureRecord.Decode(ArchitectureRecord.Encode(c, "byte"), "t").Config);
        var plain = ModelConfig.Preset("minimind3");
        var bytes = ArchitectureRecord.Encode(plain, null);
        Assert.DoesNotContain("rope_scaling", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Null(ArchitectureRecord.Decode(bytes, "t").Config.RopeScaling);
        var bad = System.Text.Encoding.UTF8.GetString(ArchitectureRecord.Encode(c, null)).Replace("\"yarn\"", "\"linear\"");
        Assert.Contains("rope_scaling", Assert.Throws<InvalidDataException>(() => ArchitectureRecord.Decode(System.Text.Encoding.UTF8.GetBytes(bad), "t")).Message);
    }
}

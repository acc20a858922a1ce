namespace Minimind.Checkpoint.Tests;

/// <summary>load_state_dict / state_dict() against the torch-written fixtures.</summary>
public class StateDictLoaderTests
{
    private static ParameterTable Table2024(StateDict reference, bool tie = true)
    {
        var t = new ParameterTable();
        foreach (var (k, v) in reference)
        {
            if (k == "output.weight" && tie) t.AddTied(k, "tok_embeddings.weight");
            else t.Add(k, v.Shape);
        }
        return t;
    }

    [Fact]
    public void LoadsEveryKeyAtItsOffset()
    {
        var sd = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
        var table = Table2024(sd);
        var dest = new float[table.TotalElements];
        var rep = StateDictLoader.Load(sd, table, dest, strict: true);
        Assert.True(rep.IsComplete);
        Assert.Equal(sd.Count, rep.Loaded.Count);
        foreach (var e in table.Entries)
            Assert.Equal(sd[e.Name].ToFloat32(), dest.AsSpan((int)e.Offset, (int)e.Numel).ToArray());
        Assert.Equal(sd.Count - 1, table.Owners.Count());
    }

    [Fact]
    public void PrefixesAreStrippedInAnyCombination()
    {
        var plain = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
        var pref = StateDict.Read(TestPaths.Fixture("prefixed_f32.pth"));
        Assert.Contains(pref.Keys, k => k.StartsWith("module._orig_mod.", StringComparison.Ordinal));
        var table = Table2024(plain);
        var a = new float[table.TotalElements];
        var b = new float[table.TotalElements];
        StateDictLoader.Load(plain, table, a, true);
        var rep = StateDictLoader.Load(pref, table, b, true);
        Assert.Equal(a, b);
        Assert.Equal(pref.Count, rep.Renamed.Count);
        Assert.Equal("layers.0.attention.wq.weight", StateDictLoader.NormalizeKey("_orig_mod.module._orig_mod.layers.0.attention.wq.weight"));
    }

    [Fact]
    public void LegacyFileLoadsTheSameWeightsAsZip()
    {
        var zip = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
        var legacy = StateDict.Read(TestPaths.Fixture("minimind2024_legacy.pth"));
        foreach (var k in zip.Keys) Assert.Equal(zip[k].ToFloat32(), legacy[k].ToFloat32());
        Assert.Same(legacy["tok_embeddings.weight"].Storage, legacy["output.weight"].Storage);
    }

    [Fact]
    public void HalfPrecisionFilesConvertExactly()
    {
        foreach (var f in new[] { "minimind2_hf_f16.pth", "minimind3_bf16.pth" })
        {
            var sd = StateDict.Read(TestPaths.Fixture(f));
            var table = new ParameterTable();
            foreach (var (k, v) in sd)
                if (k == "lm_head.weight") table.AddTied(k, "model.embed_tokens.weight"); else table.Add(k, v.Shape);
            var dest = new float[table.TotalElements];
            StateDictLoader.Load(sd, table, dest, true);
            // Independent reference: decode the raw 16-bit patterns by hand.
            var q = sd["model.layers.0.self_attn.q_proj.weight"];
            var raw = q.ToContiguousBytes();
            var e = table["model.layers.0.self_attn.q_proj.weight"];
            for (int i = 0; i < q.Numel; i++)
            {
                ushort bits = BitConverter.ToUInt16(raw, 2 * i);
                float want = q.DType == TorchDType.BF16 ? BitConverter.Int32BitsToSingle(bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);
                Assert.Equal(want, dest[e.Offset + i]);
            }
        }
    }

    [Fact]
    public void StrictReportsMissingUnexpectedAndMismatchedLikePyTorch()
    {
        var sd = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
        var table = new ParameterTable();
        table.Add("tok_embeddings.weight", 32, 16);
        table.Add("layers.0.attention.wq.weight", 16, 8); // wrong shape
        table.Add("extra.bias", 4);                       // not in the file
        var dest = new float[table.TotalElements];
        Array.Fill(dest, 7f);
        var ex = Assert.Throws<StateDictLoadException>(() => StateDictLoader.Load(sd, table, dest, strict: true));
        Assert.StartsWith("Error(s) in loading state_dict from ", ex.Message);
        Assert.Contains("minimind2024_f32.pth", ex.Message);
        Assert.Contains("Missing key(s) in state_dict: \"extra.bias\".", ex.Message);
        Assert.Contains("Unexpected key(s) in state_dict: \"layers.0.attention.wk.weight\"", ex.Message);
        Assert.Contains("size mismatch for layers.0.attention.wq.weight: copying a param with shape torch.Size([16, 16]) from checkpoint, the shape in current model is torch.Size([16, 8]).", ex.Message);
        Assert.All(dest, v => Assert.Equal(7f, v)); // nothing written before the strict check

        var rep = StateDictLoader.Load(sd, table, dest, strict: false);
        Assert.Equal(new[] { "tok_embeddings.weight" }, rep.Loaded);
        Assert.Equal(new[] { "extra.bias" }, rep.Missing);
        Assert.Single(rep.Mismatched);
        Assert.Equal(sd.Count - 2, rep.Unexpected.Count);
        Assert.StartsWith("_IncompatibleKeys(missing_keys=['extra.bias'], unexpected_keys=['layers.0.attention.wk.weight'", rep.ToString());
        Assert.Equal(sd["tok_embeddings.weight"].ToFloat32(), dest.AsSpan(0, 512).ToArray());
        Assert.All(dest.AsSpan(512).ToArray(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void ExportTiesStorageAndRoundsHalfToNearestEven()
    {
        var table = new ParameterTable();
        table.Add("emb.weight", 2, 3);
        table.Add("norm.weight", 3);
        table.AddTied("head.weight", "emb.weight");
        // 1 + 2^-11 is a tie in f16 (rounds to even 1.0); 1 + 3·2^-11 rounds up; bf16 ties at 2^-8.
        var src = new float[] { 1f + MathF.Pow(2, -11), 1f + 3 * MathF.Pow(2, -11), -2.5f, 1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8), 65520f, 0.1f, 0.2f, 0.3f };
        var f16 = StateDictLoader.Export(table, src, TorchDType.F16);
        Assert.Same(f16["emb.weight"].Storage, f16["head.weight"].Storage);
        Assert.NotSame(f16["emb.weight"], f16["head.weight"]);
        var h = f16["emb.weight"].ToFloat32();
        Assert.Equal(new[] { 1f, 1f + 4 * MathF.Pow(2, -11), -2.5f, 1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8), float.PositiveInfinity }, h);
        var bf = StateDictLoader.Export(table, src, TorchDType.BF16)["emb.weight"].ToFloat32();
        Assert.Equal(new[] { 1f, 1f, -2.5f, 1f, 1f + 4 * MathF.Pow(2, -8), 65536f }, bf);
        var f32 = StateDictLoader.Export(table, src, TorchDType.F32);
        var back = new float[table.TotalElements];
        StateDictLoader.Load(f32, table, back, true);
        Assert.Equal(src, back);
    }
}

using System.Text.Json;

namespace Minimind.Checkpoint;

/// <summary>
/// Reads the weights of a HuggingFace model folder (<c>config.json</c> + <c>model.safetensors</c>, a sharded
/// <c>model.safetensors.index.json</c>, or <c>pytorch_model.bin</c>) as a MiniMind state dict: transformers 5's
/// fused Qwen3-MoE experts (<c>mlp.experts.gate_up_proj</c> [E, 2I, D], <c>mlp.experts.down_proj</c> [E, D, I]) become
/// per-expert views (no copy), and a tied head that <c>save_pretrained</c> left out becomes an alias of the embedding.
/// </summary>
public static class HfFolderReader
{
    /// <summary>True when <paramref name="dir"/> holds weights this reader understands.</summary>
    public static bool IsHfFolder(string dir) => Directory.Exists(dir) && WeightFiles(dir).Count > 0;

    /// <summary>The weight files of the folder, in shard order; empty when there are none.</summary>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        var single = Path.Combine(dir, "model.safetensors");
        if (File.Exists(single)) return new[] { single };
        var index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new PthFormatException($"{index}: no 'weight_map' object");
            var files = new List<string>();
            foreach (var p in map.EnumerateObject())
            {
                var f = p.Value.GetString() ?? throw new PthFormatException($"{index}: weight_map['{p.Name}'] is not a file name");
                if (f.Contains('/') || f.Contains('\\') || f == "..") throw new PthFormatException($"{index}: shard '{f}' is not a file in the folder");
                if (!files.Contains(f)) files.Add(f);
            }
            return files.Select(f => Path.Combine(dir, f)).ToList();
        }
        var bin = Path.Combine(dir, "pytorch_model.bin");
        return File.Exists(bin) ? new[] { bin } : Array.Empty<string>();
    }

    /// <summary>Reads the folder's state dict (see the class summary).</summary>
    public static StateDict Read(string dir)
    {
        var files = WeightFiles(dir);
        if (files.Count == 0) throw new FileNotFoundException($"{dir}: a HuggingFace folder needs model.safetensors, model.safetensors.index.json or pytorch_model.bin");
        var raw = new StateDict { SourcePath = dir };
        foreach (var f in files)
            foreach (var (k, t) in StateDict.Read(f))
            {
                if (raw.ContainsKey(k)) throw new PthFormatException($"{dir}: tensor '{k}' is in two shards");
                raw.Add(k, t);
            }
        bool tied = TiedInConfig(Path.Combine(dir, "config.json"));
        var sd = new StateDict { SourcePath = dir };
        foreach (var (k, t) in raw)
        {
            if (k.EndsWith(".mlp.experts.gate_up_proj", StringComparison.Ordinal)) { Unfuse(sd, k, t, gateUp: true, dir); continue; }
            if (k.EndsWith(".mlp.experts.down_proj", StringComparison.Ordinal)) { Unfuse(sd, k, t, gateUp: false, dir); continue; }
            sd.Add(k, t);
        }
        if (tied && !sd.ContainsKey("lm_head.weight") && sd.TryGetValue("model.embed_tokens.weight", out var emb))
            sd.Add("lm_head.weight", emb.Alias());
        return sd;
    }

    private static bool TiedInConfig(string configPath)
    {
        if (!File.Exists(configPath)) return true;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
            // PretrainedConfig's default is tied; an explicit false unties.
            return !doc.RootElement.TryGetProperty("tie_word_embeddings", out var v) || v.ValueKind != JsonValueKind.False;
        }
        catch (JsonException e) { throw new InvalidDataException($"{configPath}: not valid JSON: {e.Message}", e); }
    }

    // [E, 2I, D] → experts.e.gate_proj (rows [0, I)) and up_proj (rows [I, 2I)); [E, D, I] → experts.e.down_proj.
    private static void Unfuse(StateDict sd, string key, TorchTensor t, bool gateUp, string dir)
    {
        if (t.Rank != 3 || !t.IsContiguous || (gateUp && t.Shape[1] % 2 != 0))
            throw new PthFormatException($"{dir}: '{key}' has shape {t.ShapeText}; expected a contiguous [experts, {(gateUp ? "2·intermediate, hidden" : "hidden, intermediate")}]");
        string prefix = key[..key.LastIndexOf('.')];
        int e = t.Shape[0], rows = t.Shape[1], cols = t.Shape[2];
        long perExpert = (long)rows * cols;
        TorchTensor View(long offset, int r) => new(t.Storage, t.DType, t.StorageOffset + offset, new[] { r, cols }, new long[] { cols, 1 });
        for (int x = 0; x < e; x++)
        {
            if (gateUp)
            {
                sd.Add($"{prefix}.{x}.gate_proj.weight", View(x * perExpert, rows / 2));
                sd.Add($"{prefix}.{x}.up_proj.weight", View(x * perExpert + (long)(rows / 2) * cols, rows / 2));
            }
            else sd.Add($"{prefix}.{x}.down_proj.weight", View(x * perExpert, rows));
        }
    }
}

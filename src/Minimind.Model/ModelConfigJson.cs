using System.Text.Json;
using Minimind.Kernels;

namespace Minimind.Model;

/// <summary>
/// Reads a MiniMind <c>config.json</c> (the 2024/minimind2 <c>LMConfig</c> field names or the
/// HF <c>MiniMindConfig</c> ones) onto a preset. Unknown fields are ignored; a field of the wrong
/// type throws naming the file and the field.
/// </summary>
public static class ModelConfigJson
{
    /// <summary>
    /// Guesses the preset a config.json belongs to: <c>dim</c> → LMConfig (<c>minimind2</c> when it has
    /// <c>rope_theta</c>, else <c>minimind-v1</c>); <c>hidden_size</c> → <c>minimind2-hf</c> when it has the
    /// 2025 MoE fields (<c>n_routed_experts</c>/<c>aux_loss_alpha</c>), else <c>minimind3</c>. Null when neither.
    /// </summary>
    public static string? DetectArch(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return null;
        // HF folders written by convert_model.py (or `minimind convert --to hf`)
        switch (ModelType(root))
        {
            case "qwen3" or "qwen3_moe": return "minimind3";
            case "llama": return "minimind2-hf";
        }
        if (root.TryGetProperty("dim", out _)) return root.TryGetProperty("rope_theta", out _) ? "minimind2" : "minimind-v1";
        if (root.TryGetProperty("hidden_size", out _))
            return root.TryGetProperty("n_routed_experts", out _) || root.TryGetProperty("aux_loss_alpha", out _) ? "minimind2-hf" : "minimind3";
        return null;
    }

    private static readonly string[] YarnKeys = { "type", "rope_type", "factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "attention_factor", "rope_theta" };

    /// <summary>
    /// The YaRN scaling a config.json asks for, or null. MiniMind's own <c>MiniMindConfig</c> (an
    /// <c>inference_rope_scaling</c> field) rebuilds its fixed dict from that flag and, as <c>precompute_freqs_cis</c>
    /// does, scales only when <c>max_position_embeddings</c> exceeds the original 2048. Other configs (qwen3/llama as
    /// convert_model.py writes them) give a <c>rope_scaling</c> dict (or transformers 5's <c>rope_parameters</c>): type
    /// yarn with every value stated; other types, unknown keys and missing values that MiniMind and transformers would
    /// default differently are refused, naming the file and the field.
    /// </summary>
    private static RopeScaling? ReadRopeScaling(JsonElement root, string path, int maxPositions)
    {
        if (root.TryGetProperty("inference_rope_scaling", out var flag) && flag.ValueKind is JsonValueKind.True or JsonValueKind.False)
            return flag.GetBoolean() && RopeScaling.MiniMind.AppliesAt(maxPositions) ? RopeScaling.MiniMind : null;
        string field = "rope_scaling";
        if (!root.TryGetProperty(field, out var d) || d.ValueKind == JsonValueKind.Null)
        {
            field = "rope_parameters";
            if (!root.TryGetProperty(field, out d) || d.ValueKind == JsonValueKind.Null) return null;
        }
        if (d.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: field '{field}' should be an object or null, got {d.GetRawText()}");
        string? type = (d.TryGetProperty("rope_type", out var t) || d.TryGetProperty("type", out t)) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type is null or "default") return null;
        if (type != "yarn")
            throw new NotSupportedException($"{path}: {field}.type '{type}' is not supported (only yarn, MiniMind's inference_rope_scaling); the model would run with other positions than the file asks for");
        foreach (var p in d.EnumerateObject())
            if (!YarnKeys.Contains(p.Name))
                throw new NotSupportedException($"{path}: {field}.{p.Name} is not supported (MiniMind's YaRN has type, factor, original_max_position_embeddings, beta_fast, beta_slow, attention_factor)");
        double Num(string name, double? def)
        {
            if (d.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null)
                return v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new InvalidDataException($"{path}: {field}.{name} should be a number, got {v.GetRawText()}");
            return def ?? throw new InvalidDataException($"{path}: {field} has no '{name}' " + (name == "attention_factor"
                ? "(MiniMind would use 1.0, transformers 0.1·ln(factor) + 1; state it)" : "(state it: MiniMind and transformers default it differently)"));
        }
        double orig = Num("original_max_position_embeddings", null);
        if (orig != Math.Floor(orig) || orig < 1 || orig > int.MaxValue) throw new InvalidDataException($"{path}: {field}.original_max_position_embeddings {orig} should be a positive integer");
        var rs = new RopeScaling(Num("factor", null), (int)orig, Num("beta_fast", 32), Num("beta_slow", 1), Num("attention_factor", null));
        try { rs.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {field}: {e.Message}", e); }
        return rs;
    }

    private static string? ModelType(JsonElement root) =>
        root.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    /// <summary>Reads <paramref name="path"/>; starts from <paramref name="arch"/>'s preset (or the detected one).</summary>
    public static ModelConfig Load(string path, string? arch = null) => Load(path, arch, null);

    /// <summary>As <see cref="Load(string, string?)"/>; adds the ModelConfig property names the file sets to <paramref name="pinned"/>.</summary>
    public static ModelConfig Load(string path, string? arch, ISet<string>? pinned)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            arch ??= DetectArch(root) ?? throw new InvalidDataException(
                $"{path}: cannot tell the MiniMind generation (no 'dim' or 'hidden_size' field); pass --arch");
            var c = Apply(ModelConfig.Preset(arch), root, path);
            if (pinned is not null) Pinned(c, root, pinned);
            return c;
        }
    }

    private static void Pinned(ModelConfig c, JsonElement root, ISet<string> pinned)
    {
        bool hf = c.HfKeys;
        void P(string prop, params string[] names)
        {
            foreach (var n in names)
                if (root.TryGetProperty(n, out var v) && v.ValueKind != JsonValueKind.Null) { pinned.Add(prop); return; }
        }
        P(nameof(ModelConfig.Dim), hf ? "hidden_size" : "dim");
        P(nameof(ModelConfig.NLayers), hf ? "num_hidden_layers" : "n_layers");
        P(nameof(ModelConfig.NHeads), hf ? "num_attention_heads" : "n_heads");
        P(nameof(ModelConfig.NKvHeads), hf ? "num_key_value_heads" : "n_kv_heads");
        P(nameof(ModelConfig.VocabSize), "vocab_size");
        P(nameof(ModelConfig.UseMoe), "use_moe");
        P(nameof(ModelConfig.NExperts), "n_routed_experts", "num_experts");
        P(nameof(ModelConfig.NSharedExperts), "n_shared_experts");
        P(nameof(ModelConfig.TiedEmbeddings), "tie_word_embeddings");
        P(nameof(ModelConfig.HiddenDim), hf ? "intermediate_size" : "hidden_dim", "moe_intermediate_size");
    }

    /// <summary>Applies the fields of <paramref name="root"/> that exist to <paramref name="c"/>.</summary>
    public static ModelConfig Apply(ModelConfig c, JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object");
        int? I(params string[] names)
        {
            foreach (var n in names)
                if (root.TryGetProperty(n, out var v) && v.ValueKind != JsonValueKind.Null)
                {
                    if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
                    if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var dd) && dd == Math.Floor(dd)) return (int)dd;
                    if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean() ? 1 : 0;
                    throw new InvalidDataException($"{path}: field '{n}' should be an integer, got {v.GetRawText()}");
                }
            return null;
        }
        float? Fl(params string[] names)
        {
            foreach (var n in names)
                if (root.TryGetProperty(n, out var v) && v.ValueKind != JsonValueKind.Null)
                {
                    if (v.ValueKind == JsonValueKind.Number) return (float)v.GetDouble();
                    throw new InvalidDataException($"{path}: field '{n}' should be a number, got {v.GetRawText()}");
                }
            return null;
        }
        bool? B(params string[] names)
        {
            foreach (var n in names)
                if (root.TryGetProperty(n, out var v) && v.ValueKind != JsonValueKind.Null)
                {
                    if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
                    throw new InvalidDataException($"{path}: field '{n}' should be true or false, got {v.GetRawText()}");
                }
            return null;
        }
        bool hf = c.HfKeys;
        var moe = B("use_moe") ?? (ModelType(root) == "qwen3_moe" || c.UseMoe);
        c = c with
        {
            Dim = I(hf ? "hidden_size" : "dim") ?? c.Dim,
            NLayers = I(hf ? "num_hidden_layers" : "n_layers") ?? c.NLayers,
            NHeads = I(hf ? "num_attention_heads" : "n_heads") ?? c.NHeads,
            NKvHeads = I(hf ? "num_key_value_heads" : "n_kv_heads") ?? c.NKvHeads,
            VocabSize = I("vocab_size") ?? c.VocabSize,
            NormEps = Fl(hf ? "rms_norm_eps" : "norm_eps") ?? c.NormEps,
            MaxSeqLen = I(hf ? "max_position_embeddings" : "max_seq_len") ?? c.MaxSeqLen,
            RopeTheta = Fl("rope_theta") ?? c.RopeTheta,
            UseMoe = moe,
            TopK = I("num_experts_per_tok") ?? c.TopK,
            NExperts = I("n_routed_experts", "num_experts") ?? c.NExperts,
            NSharedExperts = I("n_shared_experts") ?? c.NSharedExperts,
            NormTopKProb = B("norm_topk_prob") ?? c.NormTopKProb,
            AuxAlpha = Fl("aux_loss_alpha", "router_aux_loss_coef") ?? c.AuxAlpha,
            TiedEmbeddings = B("tie_word_embeddings") ?? c.TiedEmbeddings,
        };
        // the FFN width: experts use moe_intermediate_size in minimind-3, the dense FFN intermediate_size
        int? hidden = moe && c.Generation == ModelGeneration.MiniMind3 ? I("moe_intermediate_size", "intermediate_size") : I(hf ? "intermediate_size" : "hidden_dim");
        if (hidden is not null) c = c with { HiddenDim = hidden.Value };
        if (B("seq_aux") is bool seqAux && c.Generation != ModelGeneration.MiniMind3)
            c = c with { AuxKind = seqAux ? AuxLossKind.SequenceLevel : AuxLossKind.TokenLevel };
        c = c with { RopeScaling = ReadRopeScaling(root, path, c.MaxSeqLen) };
        if (root.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object
            && rp.TryGetProperty("rope_theta", out var rpTheta) && rpTheta.ValueKind == JsonValueKind.Number && !root.TryGetProperty("rope_theta", out _))
            c = c with { RopeTheta = (float)rpTheta.GetDouble() }; // transformers 5 keeps the base there
        if (I("head_dim") is int hdim && c.NHeads > 0 && hdim * c.NHeads != c.Dim)
            throw new NotSupportedException($"{path}: head_dim {hdim} × num_attention_heads {c.NHeads} != hidden_size {c.Dim}; a decoupled head_dim is not supported");
        return c;
    }
}

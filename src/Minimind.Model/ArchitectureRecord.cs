using System.Globalization;
using System.Text;
using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels;

namespace Minimind.Model;

/// <summary>
/// The architecture a weight file was written for, stored inside the file as the JSON record
/// <c>&lt;top&gt;/extra/minimind.json</c> (torch.load ignores records it does not know): every
/// <see cref="ModelConfig"/> field plus the tokenizer the run used, so <c>generate</c>, <c>eval</c> and
/// <c>--from-weight</c> need no flags for files this project wrote. Files from elsewhere have no record and
/// still go through config.json, shape inference and flags.
/// </summary>
public static class ArchitectureRecord
{
    /// <summary>The record's name in the zip's extra folder.</summary>
    public const string RecordName = "minimind.json";
    /// <summary>The value of the record's <c>format</c> field.</summary>
    public const string Format = "minimind-cs/architecture-1";

    /// <summary>What a record holds: the full config and the tokenizer spec (e.g. <c>byte</c> or a tokenizer folder), when known.</summary>
    public readonly record struct Contents(ModelConfig Config, string? Tokenizer);

    /// <summary>The record's bytes for <paramref name="c"/>.</summary>
    public static byte[] Encode(ModelConfig c, string? tokenizer)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("arch", c.Arch);
            w.WriteString("generation", c.Generation.ToString());
            w.WriteNumber("dim", c.Dim);
            w.WriteNumber("n_layers", c.NLayers);
            w.WriteNumber("n_heads", c.NHeads);
            w.WriteNumber("n_kv_heads", c.NKvHeads);
            w.WriteNumber("vocab_size", c.VocabSize);
            w.WriteNumber("hidden_dim", c.EffectiveHiddenDim);
            w.WriteNumber("max_seq_len", c.MaxSeqLen);
            // float fields as their shortest round-trip decimal ("1E-05", "1000000"), read back bit-exactly
            w.WriteString("rope_theta", c.RopeTheta.ToString("R", CultureInfo.InvariantCulture));
            w.WriteString("norm_eps", c.NormEps.ToString("R", CultureInfo.InvariantCulture));
            w.WriteString("rope_layout", c.Rope.ToString());
            w.WriteBoolean("qk_norm", c.QkNorm);
            w.WriteBoolean("tie_word_embeddings", c.TiedEmbeddings);
            w.WriteBoolean("use_moe", c.UseMoe);
            w.WriteNumber("n_experts", c.NExperts);
            w.WriteNumber("top_k", c.TopK);
            w.WriteNumber("n_shared_experts", c.NSharedExperts);
            w.WriteBoolean("norm_topk_prob", c.NormTopKProb);
            w.WriteString("aux_alpha", c.AuxAlpha.ToString("R", CultureInfo.InvariantCulture));
            w.WriteString("aux_kind", c.AuxKind.ToString());
            if (c.RopeScaling is { } rs)
            {
                // only when set, so records without YaRN stay as they were
                w.WriteStartObject("rope_scaling");
                w.WriteString("type", "yarn");
                w.WriteString("factor", rs.Factor.ToString("R", CultureInfo.InvariantCulture));
                w.WriteNumber("original_max_position_embeddings", rs.OriginalMaxPositions);
                w.WriteString("beta_fast", rs.BetaFast.ToString("R", CultureInfo.InvariantCulture));
                w.WriteString("beta_slow", rs.BetaSlow.ToString("R", CultureInfo.InvariantCulture));
                w.WriteString("attention_factor", rs.AttentionFactor.ToString("R", CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            if (tokenizer is not null) w.WriteString("tokenizer", tokenizer);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    /// <summary>Adds the record for <paramref name="c"/> to a state dict about to be written.</summary>
    public static StateDict Attach(StateDict sd, ModelConfig c, string? tokenizer)
    {
        sd.Extras[RecordName] = Encode(c, tokenizer);
        return sd;
    }

    /// <summary>The record of a state dict read from a file, or null when it has none. Throws an InvalidDataException naming the file and field when it is malformed.</summary>
    public static Contents? Read(StateDict sd) =>
        sd.Extras.TryGetValue(RecordName, out var b) ? Decode(b, sd.SourcePath ?? "checkpoint") : null;

    /// <summary>Parses a record.</summary>
    public static Contents Decode(byte[] bytes, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: architecture record {RecordName} is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var r = doc.RootElement;
            string where = $"{source}: architecture record {RecordName}";
            JsonElement Get(string name) => r.ValueKind == JsonValueKind.Object && r.TryGetProperty(name, out var v) ? v
                : throw new InvalidDataException($"{where} has no field '{name}'");
            string Str(string n) => Get(n).ValueKind == JsonValueKind.String ? Get(n).GetString()! : throw new InvalidDataException($"{where}: '{n}' should be a string");
            int Int(string n) => Get(n).TryGetInt32(out var i) ? i : throw new InvalidDataException($"{where}: '{n}' should be an integer");
            bool Bool(string n) => Get(n).ValueKind is JsonValueKind.True or JsonValueKind.False ? Get(n).GetBoolean() : throw new InvalidDataException($"{where}: '{n}' should be true or false");
            float Flt(string n) => float.TryParse(Str(n), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f : throw new InvalidDataException($"{where}: '{n}' is not a number");
            T En<T>(string n) where T : struct, Enum => Enum.TryParse<T>(Str(n), out var e) ? e : throw new InvalidDataException($"{where}: '{n}' = '{Str(n)}' is not a {typeof(T).Name}");
            if (Str("format") != Format) throw new InvalidDataException($"{where} has format '{Str("format")}', this version reads '{Format}'");
            ModelConfig c;
            try { c = ModelConfig.Preset(Str("arch")); }
            catch (ArgumentException e) { throw new InvalidDataException($"{where}: {e.Message}", e); }
            c = c with
            {
                Generation = En<ModelGeneration>("generation"), Dim = Int("dim"), NLayers = Int("n_layers"), NHeads = Int("n_heads"),
                NKvHeads = Int("n_kv_heads"), VocabSize = Int("vocab_size"), HiddenDim = Int("hidden_dim"), MaxSeqLen = Int("max_seq_len"),
                RopeTheta = Flt("rope_theta"), NormEps = Flt("norm_eps"), Rope = En<RopeLayout>("rope_layout"), QkNorm = Bool("qk_norm"),
                TiedEmbeddings = Bool("tie_word_embeddings"), UseMoe = Bool("use_moe"), NExperts = Int("n_experts"), TopK = Int("top_k"),
                NSharedExperts = Int("n_shared_experts"), NormTopKProb = Bool("norm_topk_prob"), AuxAlpha = Flt("aux_alpha"),
                AuxKind = En<AuxLossKind>("aux_kind"),
            };
            if (r.TryGetProperty("rope_scaling", out var rsEl)) c = c with { RopeScaling = DecodeRopeScaling(rsEl, where + ": rope_scaling") };
            string? tok = r.TryGetProperty("tokenizer", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return new Contents(c, tok);
        }
    }

    private static RopeScaling DecodeRopeScaling(JsonElement e, string where)
    {
        JsonElement Get(string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v
            : throw new InvalidDataException($"{where} has no field '{name}'");
        double Dbl(string n) => Get(n).ValueKind == JsonValueKind.String && double.TryParse(Get(n).GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d : throw new InvalidDataException($"{where}: '{n}' is not a number");
        if (Get("type").GetString() != "yarn") throw new InvalidDataException($"{where}: type '{Get("type").GetRawText()}' is not 'yarn', the only scaling this version reads");
        if (!Get("original_max_position_embeddings").TryGetInt32(out int orig)) throw new InvalidDataException($"{where}: 'original_max_position_embeddings' should be an integer");
        var rs = new RopeScaling(Dbl("factor"), orig, Dbl("beta_fast"), Dbl("beta_slow"), Dbl("attention_factor"));
        try { rs.Validate(); }
        catch (ArgumentException x) { throw new InvalidDataException($"{where}: {x.Message}", x); }
        return rs;
    }
}

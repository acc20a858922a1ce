using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Minimind.Checkpoint;

namespace Minimind.Model.Export;

/// <summary>
/// Writes the HuggingFace folder MiniMind's <c>scripts/convert_model.py</c> writes for a generation:
/// minimind3 → <c>Qwen3ForCausalLM</c> (MoE: <c>Qwen3MoeForCausalLM</c> with transformers 5's fused experts),
/// the script's transformers-5 fix-ups applied (<c>rope_theta</c> back at the top level, <c>rope_scaling</c> null, no
/// <c>rope_parameters</c>, <c>tokenizer_class</c> PreTrainedTokenizerFast); minimind2 / minimind-v1 / minimind2-hf dense →
/// <c>LlamaForCausalLM</c> as the 2025 script did (interleaved-RoPE generations get their q/k rows permuted to Llama's
/// rotate-half layout, which leaves the outputs unchanged). <c>config.json</c>, <c>model.safetensors</c> (the tied head
/// left out, as <c>save_pretrained</c> does) and the tokenizer files; the folder appears only when complete.
/// </summary>
public static class HfFolderWriter
{
    /// <summary>The tokenizer files copied when present.</summary>
    public static readonly string[] TokenizerFiles = { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja" };

    /// <summary>Why <paramref name="c"/> has no HF class, or null when it can be written.</summary>
    public static string? Unsupported(ModelConfig c) =>
        c.UseMoe && c.Generation != ModelGeneration.MiniMind3
            ? $"{c.Arch} MoE (routed experts plus a shared expert) has no transformers class: MiniMind's convert_model.py only maps dense models onto LlamaForCausalLM and minimind3 MoE onto Qwen3MoeForCausalLM; convert a dense model, or keep the .pth"
            : null;

    /// <summary>The model_type this config is written as (qwen3, qwen3_moe or llama).</summary>
    public static string ModelType(ModelConfig c) => c.Generation == ModelGeneration.MiniMind3 ? (c.UseMoe ? "qwen3_moe" : "qwen3") : "llama";

    /// <summary>Writes the folder <paramref name="dir"/>; <paramref name="tokenizerDir"/> (may be null) supplies the tokenizer files.
    /// Returns the tokenizer files copied.</summary>
    public static IReadOnlyList<string> Write(ExportWeights w, string dir, TorchDType dtype, string? tokenizerDir)
    {
        var c = w.Config;
        if (Unsupported(c) is { } why) throw new NotSupportedException(why);
        var full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw new IOException($"{dir} is a file; --to hf writes a folder");
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() && !File.Exists(Path.Combine(full, "config.json")))
            throw new IOException($"{dir} exists and is not a model folder (no config.json); refusing to replace it");
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        var copied = new List<string>();
        try
        {
            SafetensorsWriter.Write(Path.Combine(tmp, "model.safetensors"), Tensors(w, dtype), new Dictionary<string, string> { ["format"] = "pt" });
            AtomicFile.Write(Path.Combine(tmp, "config.json"), s => { using var jw = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true }); Config(c, dtype).WriteTo(jw); });
            if (tokenizerDir is not null)
                foreach (var f in TokenizerFiles)
                {
                    var src = Path.Combine(tokenizerDir, f);
                    if (!File.Exists(src)) continue;
                    var bytes = f == "tokenizer_config.json" ? TokenizerConfig(src) : File.ReadAllBytes(src);
                    AtomicFile.Write(Path.Combine(tmp, f), s => s.Write(bytes));
                    copied.Add(f);
                }
            // swap in: the old folder (a previous export) is moved aside first and removed last
            string? old = null;
            if (Directory.Exists(full)) { old = Path.Combine(parent, $".{Path.GetFileName(full)}.{Environment.ProcessId}.old"); Directory.Move(full, old); }
            Directory.Move(tmp, full);
            if (old is not null) Directory.Delete(old, true);
        }
        catch
        {
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); } catch (IOException) { }
            throw;
        }
        return copied;
    }

    // MiniMind's script adds these two fields to the saved tokenizer_config.json.
    private static byte[] TokenizerConfig(string path)
    {
        var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
        node["tokenizer_class"] = "PreTrainedTokenizerFast";
        node["extra_special_tokens"] = new JsonObject();
        return JsonSerializer.SerializeToUtf8Bytes(node, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>The safetensors entries in HF names (state_dict order of the HF class).</summary>
    public static IEnumerable<KeyValuePair<string, TorchTensor>> Tensors(ExportWeights w, TorchDType dtype)
    {
        var c = w.Config;
        var L = w.Layout;
        bool permute = c.Rope == Kernels.RopeLayout.Interleaved;
        KeyValuePair<string, TorchTensor> T(string name, ParameterEntry e) => new(name, w.Tensor(e, dtype));
        KeyValuePair<string, TorchTensor> Rope(string name, ParameterEntry e, int heads) =>
            new(name, permute ? TorchTensor.FromFloat32(w.PermuteRope(e, heads, toRotateHalf: true), e.Shape, dtype) : w.Tensor(e, dtype));
        yield return T("model.embed_tokens.weight", L.Embedding);
        for (int l = 0; l < c.NLayers; l++)
        {
            var p = L.Layers[l];
            string a = $"model.layers.{l}.self_attn.", m = $"model.layers.{l}.mlp.";
            yield return Rope(a + "q_proj.weight", p.Wq, c.NHeads);
            yield return Rope(a + "k_proj.weight", p.Wk, c.NKvHeads);
            yield return T(a + "v_proj.weight", p.Wv);
            yield return T(a + "o_proj.weight", p.Wo);
            if (p.QNorm is { } qn) yield return T(a + "q_norm.weight", qn);
            if (p.KNorm is { } kn) yield return T(a + "k_norm.weight", kn);
            if (p.Ffn is { } f)
            {
                yield return T(m + "gate_proj.weight", f.Gate);
                yield return T(m + "up_proj.weight", f.Up);
                yield return T(m + "down_proj.weight", f.Down);
            }
            else
            {
                // transformers 5's Qwen3-MoE keeps the experts fused: gate_up_proj [E, 2I, D], down_proj [E, D, I]
                yield return T(m + "gate.weight", p.Router!);
                int e = c.NExperts, inter = c.EffectiveHiddenDim, d = c.Dim;
                var gu = new float[(long)e * 2 * inter * d];
                var dn = new float[(long)e * d * inter];
                for (int x = 0; x < e; x++)
                {
                    var ex = p.Experts[x];
                    w.Of(ex.Gate).CopyTo(gu.AsSpan(x * 2 * inter * d));
                    w.Of(ex.Up).CopyTo(gu.AsSpan(x * 2 * inter * d + inter * d));
                    w.Of(ex.Down).CopyTo(dn.AsSpan(x * d * inter));
                }
                yield return new(m + "experts.gate_up_proj", TorchTensor.FromFloat32(gu, new[] { e, 2 * inter, d }, dtype));
                yield return new(m + "experts.down_proj", TorchTensor.FromFloat32(dn, new[] { e, d, inter }, dtype));
            }
            yield return T($"model.layers.{l}.input_layernorm.weight", p.AttnNorm);
            yield return T($"model.layers.{l}.post_attention_layernorm.weight", p.FfnNorm);
        }
        yield return T("model.norm.weight", L.FinalNorm);
        if (!c.TiedEmbeddings) yield return T("lm_head.weight", L.Head);
    }

    private static double D(float f) => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>config.json as convert_model.py leaves it (keys sorted as transformers writes them, its fix-ups last).</summary>
    public static JsonObject Config(ModelConfig c, TorchDType dtype)
    {
        string dt = dtype switch { TorchDType.F16 => "float16", TorchDType.BF16 => "bfloat16", TorchDType.F64 => "float64", _ => "float32" };
        var o = new SortedDictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["head_dim"] = c.HeadDim,
            ["hidden_act"] = "silu",
            ["hidden_size"] = c.Dim,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = c.EffectiveHiddenDim,
            ["max_position_embeddings"] = c.MaxSeqLen,
            ["num_attention_heads"] = c.NHeads,
            ["num_hidden_layers"] = c.NLayers,
            ["num_key_value_heads"] = c.NKvHeads,
            ["rms_norm_eps"] = D(c.NormEps),
            ["tie_word_embeddings"] = c.TiedEmbeddings,
            ["use_cache"] = true,
            ["vocab_size"] = c.VocabSize,
            ["model_type"] = ModelType(c),
        };
        if (c.Generation == ModelGeneration.MiniMind3)
        {
            // transformers 5 (what the script's fix-ups are for): dtype, layer_types, no rope_parameters
            o["architectures"] = new JsonArray(c.UseMoe ? "Qwen3MoeForCausalLM" : "Qwen3ForCausalLM");
            o["dtype"] = dt;
            o["bos_token_id"] = null; o["eos_token_id"] = null; o["pad_token_id"] = null;
            o["use_sliding_window"] = false;
            o["sliding_window"] = null;
            o["max_window_layers"] = 28;
            o["layer_types"] = new JsonArray(Enumerable.Range(0, c.NLayers).Select(_ => (JsonNode?)"full_attention").ToArray());
            o["transformers_version"] = "5.0.0";
            if (c.UseMoe)
            {
                o["num_experts"] = c.NExperts;
                o["num_experts_per_tok"] = c.TopK;
                o["moe_intermediate_size"] = c.EffectiveHiddenDim;
                o["norm_topk_prob"] = c.NormTopKProb;
                o["decoder_sparse_step"] = 1;
                o["mlp_only_layers"] = new JsonArray();
                o["output_router_logits"] = false;
                o["router_aux_loss_coef"] = 0.001;
            }
        }
        else
        {
            // LlamaConfig of transformers 4 (the 2025 script): torch_dtype, bos 1 / eos 2, rope_theta in place
            o["architectures"] = new JsonArray("LlamaForCausalLM");
            o["torch_dtype"] = dt;
            o["bos_token_id"] = 1; o["eos_token_id"] = 2;
            o["mlp_bias"] = false;
            o["pretraining_tp"] = 1;
            o["rope_scaling"] = RopeScalingJson(c.RopeScaling);
            o["rope_theta"] = D(c.RopeTheta);
            o["transformers_version"] = "4.57.0";
        }
        var r = new JsonObject();
        foreach (var (k, v) in o) r[k] = v;
        if (c.Generation == ModelGeneration.MiniMind3)
        {
            r["rope_theta"] = D(c.RopeTheta);
            r["rope_scaling"] = RopeScalingJson(c.RopeScaling);
        }
        return r;
    }

    /// <summary>The <c>rope_scaling</c> value: null, or YaRN's dict as MiniMindConfig writes it (key order and number
    /// forms included: 32, 1, 16, 2048, 1.0 for MiniMind's values).</summary>
    public static JsonNode? RopeScalingJson(RopeScaling? scaling)
    {
        if (scaling is not { } s) return null;
        // a Python int stays an int, a float is written with its fraction (1.0)
        static JsonNode Num(double v, bool isFloat) => JsonNode.Parse(isFloat ? PyFloat(v) : v.ToString("R", CultureInfo.InvariantCulture))!;
        static string PyFloat(double v) => v == Math.Floor(v) && Math.Abs(v) < 1e16 ? v.ToString("F1", CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture);
        static bool Whole(double v) => v == Math.Floor(v) && Math.Abs(v) < 1e15;
        return new JsonObject
        {
            ["beta_fast"] = Num(s.BetaFast, !Whole(s.BetaFast)),
            ["beta_slow"] = Num(s.BetaSlow, !Whole(s.BetaSlow)),
            ["factor"] = Num(s.Factor, !Whole(s.Factor)),
            ["original_max_position_embeddings"] = s.OriginalMaxPositions,
            ["attention_factor"] = Num(s.AttentionFactor, true),
            ["type"] = "yarn",
        };
    }
}

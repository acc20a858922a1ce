using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Export;

/// <summary>
/// Writes a MiniMind model as GGUF for llama.cpp (measured mapping: shared/notes/gguf.md): minimind3 dense as
/// <c>qwen3</c>, minimind3 MoE as <c>qwen3moe</c>, minimind-v1 / minimind2 / minimind2-hf dense as <c>llama</c>
/// (legacy interleaved-RoPE q/k as stored; minimind2-hf's rotate-half rows permuted back to llama.cpp's interleaved
/// order), with the BPE tokenizer (<c>gpt2</c> / <c>gpt-2</c>), its special tokens and chat template in the metadata.
/// Norms and the router stay float32 (as llama.cpp's own converter keeps 1-D tensors); matrices use the chosen type.
/// </summary>
public static class GgufExport
{
    /// <summary>Why <paramref name="c"/> cannot be written, or null.</summary>
    public static string? Unsupported(ModelConfig c) =>
        c.UseMoe && c.Generation != ModelGeneration.MiniMind3
            ? $"{c.Arch} MoE (routed experts, a shared expert, top-{c.TopK} routing) is not supported: llama.cpp's llama/qwen3moe have no shared expert, and its deepseek architecture does not renormalise the top-k weights as MiniMind does, so the model would run with different outputs; convert a dense or a minimind3 model"
            : c.RopeScaling is { } rs && (rs.BetaFast != 32 || rs.BetaSlow != 1)
            ? $"YaRN with beta_fast {rs.BetaFast} / beta_slow {rs.BetaSlow} is not supported: llama.cpp's llama and qwen3 use 32 / 1 (MiniMind's), so the model would run with other positions"
            : null;

    /// <summary>The llama.cpp architecture <paramref name="c"/> is written as.</summary>
    public static string Architecture(ModelConfig c) => c.Generation == ModelGeneration.MiniMind3 ? (c.UseMoe ? "qwen3moe" : "qwen3") : "llama";

    /// <summary>Writes <paramref name="path"/>; <paramref name="tokenizerJson"/> is MiniMind's tokenizer.json (its
    /// tokenizer_config.json beside it supplies the chat template).</summary>
    public static void Write(ExportWeights w, string path, GgmlType type, string tokenizerJson, string name)
    {
        var c = w.Config;
        if (Unsupported(c) is { } why) throw new NotSupportedException(why);
        string a = Architecture(c);
        var g = new GgufWriter();
        g.Add("general.architecture", GgufValue.Of(a));
        g.Add("general.name", GgufValue.Of(name));
        g.Add("general.file_type", GgufValue.U32(type switch { GgmlType.F32 => 0, GgmlType.F16 => 1, _ => 32 }));
        g.Add($"{a}.context_length", GgufValue.U32(c.MaxSeqLen));
        g.Add($"{a}.embedding_length", GgufValue.U32(c.Dim));
        g.Add($"{a}.block_count", GgufValue.U32(c.NLayers));
        g.Add($"{a}.feed_forward_length", GgufValue.U32(c.EffectiveHiddenDim));
        g.Add($"{a}.attention.head_count", GgufValue.U32(c.NHeads));
        g.Add($"{a}.attention.head_count_kv", GgufValue.U32(c.NKvHeads));
        g.Add($"{a}.attention.layer_norm_rms_epsilon", GgufValue.F32(c.NormEps));
        g.Add($"{a}.rope.freq_base", GgufValue.F32(c.RopeTheta));
        g.Add($"{a}.rope.dimension_count", GgufValue.U32(c.HeadDim));
        g.Add($"{a}.vocab_size", GgufValue.U32(c.VocabSize));
        if (c.RopeScaling is { } yarn)
        {
            // llama.cpp's YaRN has MiniMind's ramp but multiplies cos/sin by 1 + 0.1·ln(factor): attn_factor cancels it
            g.Add($"{a}.rope.scaling.type", GgufValue.Of("yarn"));
            g.Add($"{a}.rope.scaling.factor", GgufValue.F32((float)yarn.Factor));
            g.Add($"{a}.rope.scaling.original_context_length", GgufValue.U32(yarn.OriginalMaxPositions));
            g.Add($"{a}.rope.scaling.attn_factor", GgufValue.F32((float)yarn.LlamaCppAttnFactor));
        }
        if (c.Generation == ModelGeneration.MiniMind3)
        {
            g.Add($"{a}.attention.key_length", GgufValue.U32(c.HeadDim));
            g.Add($"{a}.attention.value_length", GgufValue.U32(c.HeadDim));
        }
        if (c.UseMoe)
        {
            g.Add($"{a}.expert_count", GgufValue.U32(c.NExperts));
            g.Add($"{a}.expert_used_count", GgufValue.U32(c.TopK));
            g.Add($"{a}.expert_feed_forward_length", GgufValue.U32(c.EffectiveHiddenDim));
            g.Add($"{a}.expert_weights_norm", GgufValue.Bool(c.RenormalizeTopK));
        }
        AddTokenizer(g, tokenizerJson, c.VocabSize);
        AddTensors(g, w, type);
        g.Write(path);
    }

    private static void AddTensors(GgufWriter g, ExportWeights w, GgmlType type)
    {
        var c = w.Config;
        var L = w.Layout;
        void M(string n, ParameterEntry e) => g.AddTensor(n, w.Of(e), e.Shape, type);
        void V(string n, ParameterEntry e) => g.AddTensor(n, w.Of(e), e.Shape, GgmlType.F32);
        // llama.cpp's llama arch rotates interleaved pairs; minimind2-hf stores rotate-half rows
        bool permute = c.Generation == ModelGeneration.MiniMind2Hf;
        void Qk(string n, ParameterEntry e, int heads)
        {
            if (permute) g.AddTensor(n, w.PermuteRope(e, heads, toRotateHalf: false), e.Shape, type); else M(n, e);
        }
        M("token_embd.weight", L.Embedding);
        for (int l = 0; l < c.NLayers; l++)
        {
            var p = L.Layers[l];
            string b = $"blk.{l}.";
            V(b + "attn_norm.weight", p.AttnNorm);
            Qk(b + "attn_q.weight", p.Wq, c.NHeads);
            Qk(b + "attn_k.weight", p.Wk, c.NKvHeads);
            M(b + "attn_v.weight", p.Wv);
            M(b + "attn_output.weight", p.Wo);
            if (p.QNorm is { } qn) V(b + "attn_q_norm.weight", qn);
            if (p.KNorm is { } kn) V(b + "attn_k_norm.weight", kn);
            V(b + "ffn_norm.weight", p.FfnNorm);
            if (p.Ffn is { } f)
            {
                M(b + "ffn_gate.weight", f.Gate);
                M(b + "ffn_up.weight", f.Up);
                M(b + "ffn_down.weight", f.Down);
                continue;
            }
            V(b + "ffn_gate_inp.weight", p.Router!);
            // experts stacked [E, out, in] in PyTorch order (ggml: [in, out, E])
            void Stack(string n, Func<FfnParams, ParameterEntry> pick)
            {
                var first = pick(p.Experts[0]);
                var all = new float[first.Numel * c.NExperts];
                for (int x = 0; x < c.NExperts; x++) w.Of(pick(p.Experts[x])).CopyTo(all.AsSpan((int)(x * first.Numel)));
                g.AddTensor(n, all, new[] { c.NExperts, first.Shape[0], first.Shape[1] }, type);
            }
            Stack(b + "ffn_gate_exps.weight", e => e.Gate);
            Stack(b + "ffn_up_exps.weight", e => e.Up);
            Stack(b + "ffn_down_exps.weight", e => e.Down);
        }
        V("output_norm.weight", L.FinalNorm);
        if (!c.TiedEmbeddings) M("output.weight", L.Head);
    }

    private static void AddTokenizer(GgufWriter g, string tokenizerJson, int vocabSize)
    {
        var tok = BpeTokenizer.FromFile(tokenizerJson);
        if (tok.VocabSize > vocabSize)
            throw new InvalidDataException($"{tokenizerJson}: the tokenizer has {tok.VocabSize} tokens but the model's vocabulary is {vocabSize}");
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            // ids past the tokenizer (a padded embedding) become unused placeholders, as llama.cpp's converter does
            var t = i < tok.VocabSize ? tok.IdToToken(i) : null;
            tokens[i] = t ?? $"[PAD{i}]";
            types[i] = t is null ? 5 : tok.IsSpecial(i) ? 3 : 1; // 1 normal, 3 control, 5 unused
        }
        g.Add("tokenizer.ggml.model", GgufValue.Of("gpt2"));
        g.Add("tokenizer.ggml.pre", GgufValue.Of("gpt-2"));
        g.Add("tokenizer.ggml.tokens", GgufValue.Strings(tokens));
        g.Add("tokenizer.ggml.token_type", GgufValue.I32s(types));
        g.Add("tokenizer.ggml.merges", GgufValue.Strings(Merges(tokenizerJson)));
        g.Add("tokenizer.ggml.bos_token_id", GgufValue.U32(tok.BosId));
        g.Add("tokenizer.ggml.eos_token_id", GgufValue.U32(tok.EosId));
        g.Add("tokenizer.ggml.padding_token_id", GgufValue.U32(tok.PadId));
        // MiniMind's tokenizer_config.json: add_bos_token false; the prompt's bos is the caller's
        g.Add("tokenizer.ggml.add_bos_token", GgufValue.Bool(false));
        g.Add("tokenizer.ggml.add_eos_token", GgufValue.Bool(false));
        var cfg = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJson))!, "tokenizer_config.json");
        if (File.Exists(cfg))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(cfg));
            if (doc.RootElement.TryGetProperty("chat_template", out var ct) && ct.ValueKind == JsonValueKind.String)
                g.Add("tokenizer.chat_template", GgufValue.Of(ct.GetString()!));
        }
    }

    // tokenizer.json merges are "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
    private static IEnumerable<string> Merges(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var list = new List<string>();
        foreach (var m in doc.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray())
            list.Add(m.ValueKind == JsonValueKind.String ? m.GetString()! : m[0].GetString() + " " + m[1].GetString());
        return list;
    }
}

using Minimind.Checkpoint;

namespace Minimind.Model.Export;

/// <summary>
/// Writes a MiniMind model as GGUF for llama.cpp (measured mapping: shared/notes/gguf.md): minimind3 dense as
/// <c>qwen3</c>, minimind3 MoE as <c>qwen3moe</c>, minimind-v1 / minimind2 / minimind2-hf dense as <c>llama</c>, and their
/// MoE (routed experts, a shared expert, softmax top-k renormalised) as <c>bailingmoe</c>; legacy interleaved-RoPE q/k
/// as stored, minimind2-hf's rotate-half rows permuted back to llama.cpp's interleaved order. The tokenizer
/// (<see cref="ExportTokenizer"/>: MiniMind's BPE, or the built-in byte tokenizer), its special tokens and chat template
/// go in the metadata; tensor names come from <see cref="KeyTable.Gguf"/>. Norms and the router stay float32 (as
/// llama.cpp's own converter keeps 1-D tensors); matrices use the chosen type. The metadata is the file's architecture
/// record for llama.cpp: every key whose absence would change its output (θ, eps, top-k normalisation) is written.
/// </summary>
public static class GgufExport
{
    /// <summary>Why <paramref name="c"/> cannot be written, or null (every MiniMind generation can; YaRN only with llama.cpp's betas).</summary>
    public static string? Unsupported(ModelConfig c) =>
        c.RopeScaling is { } rs && (rs.BetaFast != 32 || rs.BetaSlow != 1)
            ? $"YaRN with beta_fast {rs.BetaFast} / beta_slow {rs.BetaSlow} is not supported: llama.cpp's llama, qwen3 and bailingmoe use 32 / 1 (MiniMind's), so the model would run with other positions"
            : null;

    /// <summary>The llama.cpp architecture <paramref name="c"/> is written as.</summary>
    public static string Architecture(ModelConfig c) =>
        c.Generation == ModelGeneration.MiniMind3 ? (c.UseMoe ? "qwen3moe" : "qwen3") : c.UseMoe ? "bailingmoe" : "llama";

    /// <summary>Writes <paramref name="path"/> with <paramref name="tokenizer"/> in its metadata.</summary>
    public static void Write(ExportWeights w, string path, GgmlType type, ExportTokenizer tokenizer, string name)
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
        if (a == "bailingmoe")
        {
            // llama.cpp always builds the shared FFN; without a shared expert it is a zero one (adds exactly 0)
            g.Add($"{a}.expert_shared_count", GgufValue.U32(Math.Max(1, c.NSharedExperts)));
            g.Add($"{a}.expert_weights_scale", GgufValue.F32(1.0));
            g.Add($"{a}.leading_dense_block_count", GgufValue.U32(0));
        }
        AddTokenizer(g, tokenizer.Gguf(c.VocabSize));
        AddTensors(g, w, type, a);
        g.Write(path);
    }

    private static void AddTensors(GgufWriter g, ExportWeights w, GgmlType type, string arch)
    {
        var c = w.Config;
        var L = w.Layout;
        var k = KeyTable.Gguf;
        void M(string n, ParameterEntry e) => g.AddTensor(n, w.Of(e), e.Shape, type);
        void V(string n, ParameterEntry e) => g.AddTensor(n, w.Of(e), e.Shape, GgmlType.F32);
        // llama.cpp's llama/bailingmoe rotate interleaved pairs; minimind2-hf stores rotate-half rows
        bool permute = c.Generation == ModelGeneration.MiniMind2Hf;
        void Qk(string n, ParameterEntry e, int heads)
        {
            if (permute) g.AddTensor(n, w.PermuteRope(e, heads, toRotateHalf: false), e.Shape, type); else M(n, e);
        }
        M(k[ParameterRole.Embedding], L.Embedding);
        for (int l = 0; l < c.NLayers; l++)
        {
            var p = L.Layers[l];
            V(k[ParameterRole.AttnNorm, l], p.AttnNorm);
            Qk(k[ParameterRole.Wq, l], p.Wq, c.NHeads);
            Qk(k[ParameterRole.Wk, l], p.Wk, c.NKvHeads);
            M(k[ParameterRole.Wv, l], p.Wv);
            M(k[ParameterRole.Wo, l], p.Wo);
            if (p.QNorm is { } qn) V(k[ParameterRole.QNorm, l], qn);
            if (p.KNorm is { } kn) V(k[ParameterRole.KNorm, l], kn);
            V(k[ParameterRole.FfnNorm, l], p.FfnNorm);
            if (p.Ffn is { } f)
            {
                M(k[ParameterRole.FfnGate, l], f.Gate);
                M(k[ParameterRole.FfnUp, l], f.Up);
                M(k[ParameterRole.FfnDown, l], f.Down);
                continue;
            }
            V(k[ParameterRole.Router, l], p.Router!);
            // experts stacked [E, out, in] in PyTorch order (ggml: [in, out, E])
            void Stack(ParameterRole role, Func<FfnParams, ParameterEntry> pick)
            {
                var first = pick(p.Experts[0]);
                var all = new float[first.Numel * c.NExperts];
                for (int x = 0; x < c.NExperts; x++) w.Of(pick(p.Experts[x])).CopyTo(all.AsSpan((int)(x * first.Numel)));
                g.AddTensor(k[role, l, FfnSite.Expert], all, new[] { c.NExperts, first.Shape[0], first.Shape[1] }, type);
            }
            Stack(ParameterRole.FfnGate, e => e.Gate);
            Stack(ParameterRole.FfnUp, e => e.Up);
            Stack(ParameterRole.FfnDown, e => e.Down);
            if (arch == "bailingmoe") AddSharedExperts(g, w, p, l, type);
        }
        V(k[ParameterRole.FinalNorm], L.FinalNorm);
        // bailingmoe has no tied head: it always reads output.weight
        if (!c.TiedEmbeddings || arch == "bailingmoe") M(k[ParameterRole.Head], L.Head);
    }

    // The shared experts as one FFN whose hidden units are theirs side by side (n FFNs summed on the same input are one FFN
    // of n·F units: gate/up rows and down columns concatenated); none → one FFN of zeros, which adds exactly 0.
    private static void AddSharedExperts(GgufWriter g, ExportWeights w, LayerParams p, int l, GgmlType type)
    {
        var c = w.Config;
        var k = KeyTable.Gguf;
        int f = c.EffectiveHiddenDim, d = c.Dim, n = p.Shared.Length;
        int units = Math.Max(1, n) * f;
        var gate = new float[(long)units * d];
        var up = new float[(long)units * d];
        var down = new float[(long)d * units];
        for (int s = 0; s < n; s++)
        {
            w.Of(p.Shared[s].Gate).CopyTo(gate.AsSpan(s * f * d));
            w.Of(p.Shared[s].Up).CopyTo(up.AsSpan(s * f * d));
            var dn = w.Of(p.Shared[s].Down); // [D, F]: row r holds F columns
            for (int r = 0; r < d; r++) dn.Slice(r * f, f).CopyTo(down.AsSpan(r * units + s * f));
        }
        g.AddTensor(k[ParameterRole.FfnGate, l, FfnSite.Shared], gate, new[] { units, d }, type);
        g.AddTensor(k[ParameterRole.FfnUp, l, FfnSite.Shared], up, new[] { units, d }, type);
        g.AddTensor(k[ParameterRole.FfnDown, l, FfnSite.Shared], down, new[] { d, units }, type);
    }

    private static void AddTokenizer(GgufWriter g, GgufVocabulary v)
    {
        g.Add("tokenizer.ggml.model", GgufValue.Of("gpt2"));
        g.Add("tokenizer.ggml.pre", GgufValue.Of("gpt-2"));
        g.Add("tokenizer.ggml.tokens", GgufValue.Strings(v.Tokens));
        g.Add("tokenizer.ggml.token_type", GgufValue.I32s(v.Types));
        g.Add("tokenizer.ggml.merges", GgufValue.Strings(v.Merges));
        g.Add("tokenizer.ggml.bos_token_id", GgufValue.U32(v.Bos));
        g.Add("tokenizer.ggml.eos_token_id", GgufValue.U32(v.Eos));
        g.Add("tokenizer.ggml.padding_token_id", GgufValue.U32(v.Pad));
        // MiniMind's tokenizer_config.json: add_bos_token false; the prompt's bos is the caller's
        g.Add("tokenizer.ggml.add_bos_token", GgufValue.Bool(false));
        g.Add("tokenizer.ggml.add_eos_token", GgufValue.Bool(false));
        if (v.ChatTemplate is { } t) g.Add("tokenizer.chat_template", GgufValue.Of(t));
    }
}

using System.Text.RegularExpressions;

namespace Minimind.Model;

/// <summary>What a parameter is in a MiniMind block, whatever a file calls it.</summary>
public enum ParameterRole
{
    /// <summary>Token embedding [V, D].</summary>
    Embedding,
    /// <summary>Query projection [H·hd, D].</summary>
    Wq,
    /// <summary>Key projection [Hkv·hd, D].</summary>
    Wk,
    /// <summary>Value projection [Hkv·hd, D].</summary>
    Wv,
    /// <summary>Output projection [D, H·hd].</summary>
    Wo,
    /// <summary>Per-head query RMSNorm [hd] (minimind3).</summary>
    QNorm,
    /// <summary>Per-head key RMSNorm [hd] (minimind3).</summary>
    KNorm,
    /// <summary>Pre-attention RMSNorm [D].</summary>
    AttnNorm,
    /// <summary>Pre-FFN RMSNorm [D].</summary>
    FfnNorm,
    /// <summary>SwiGLU gate projection [F, D] (w1 / gate_proj) of the FFN site.</summary>
    FfnGate,
    /// <summary>SwiGLU down projection [D, F] (w2 / down_proj) of the FFN site.</summary>
    FfnDown,
    /// <summary>SwiGLU up projection [F, D] (w3 / up_proj) of the FFN site.</summary>
    FfnUp,
    /// <summary>MoE router [E, D].</summary>
    Router,
    /// <summary>Final RMSNorm [D].</summary>
    FinalNorm,
    /// <summary>Output head [V, D].</summary>
    Head,
}

/// <summary>Which feed-forward of a block an FFN role belongs to.</summary>
public enum FfnSite
{
    /// <summary>The dense FFN of a non-MoE block.</summary>
    Dense,
    /// <summary>Routed expert <c>index</c>.</summary>
    Expert,
    /// <summary>Always-on shared expert <c>index</c>.</summary>
    Shared,
}

/// <summary>
/// The one name table of MiniMind's parameters (torchtitan's state-dict adapter): each <see cref="ParameterRole"/>
/// spelled in each layout this project reads or writes — the 2024/minimind2 keys, the HF keys of minimind2-hf and
/// minimind3 (which are also what <c>convert --to hf</c> writes), and llama.cpp's GGUF tensor names. The parameter
/// layout, shape inference, the tied-head check and both exporters ask this table; no other file spells a key.
/// Placeholders: <c>{l}</c> the layer, <c>{f}</c> the FFN site, <c>{i}</c> the expert index.
/// </summary>
public sealed class KeyTable
{
    private sealed record Row(string Legacy, string Hf, string Gguf);

    private static readonly Dictionary<ParameterRole, Row> Rows = new()
    {
        //                              2024 / minimind2                         minimind2-hf / minimind3 / HF export           GGUF (llama.cpp)
        [ParameterRole.Embedding] = new("tok_embeddings.weight",                 "model.embed_tokens.weight",                   "token_embd.weight"),
        [ParameterRole.Wq] =        new("layers.{l}.attention.wq.weight",        "model.layers.{l}.self_attn.q_proj.weight",    "blk.{l}.attn_q.weight"),
        [ParameterRole.Wk] =        new("layers.{l}.attention.wk.weight",        "model.layers.{l}.self_attn.k_proj.weight",    "blk.{l}.attn_k.weight"),
        [ParameterRole.Wv] =        new("layers.{l}.attention.wv.weight",        "model.layers.{l}.self_attn.v_proj.weight",    "blk.{l}.attn_v.weight"),
        [ParameterRole.Wo] =        new("layers.{l}.attention.wo.weight",        "model.layers.{l}.self_attn.o_proj.weight",    "blk.{l}.attn_output.weight"),
        [ParameterRole.QNorm] =     new("layers.{l}.attention.q_norm.weight",    "model.layers.{l}.self_attn.q_norm.weight",    "blk.{l}.attn_q_norm.weight"),
        [ParameterRole.KNorm] =     new("layers.{l}.attention.k_norm.weight",    "model.layers.{l}.self_attn.k_norm.weight",    "blk.{l}.attn_k_norm.weight"),
        [ParameterRole.AttnNorm] =  new("layers.{l}.attention_norm.weight",      "model.layers.{l}.input_layernorm.weight",     "blk.{l}.attn_norm.weight"),
        [ParameterRole.FfnNorm] =   new("layers.{l}.ffn_norm.weight",            "model.layers.{l}.post_attention_layernorm.weight", "blk.{l}.ffn_norm.weight"),
        [ParameterRole.FfnGate] =   new("layers.{l}.feed_forward{f}.w1.weight",  "model.layers.{l}.mlp{f}.gate_proj.weight",    "blk.{l}.ffn_gate{f}.weight"),
        [ParameterRole.FfnDown] =   new("layers.{l}.feed_forward{f}.w2.weight",  "model.layers.{l}.mlp{f}.down_proj.weight",    "blk.{l}.ffn_down{f}.weight"),
        [ParameterRole.FfnUp] =     new("layers.{l}.feed_forward{f}.w3.weight",  "model.layers.{l}.mlp{f}.up_proj.weight",      "blk.{l}.ffn_up{f}.weight"),
        [ParameterRole.Router] =    new("layers.{l}.feed_forward.gate.weight",   "model.layers.{l}.mlp.gate.weight",            "blk.{l}.ffn_gate_inp.weight"),
        [ParameterRole.FinalNorm] = new("norm.weight",                           "model.norm.weight",                           "output_norm.weight"),
        [ParameterRole.Head] =      new("output.weight",                         "lm_head.weight",                              "output.weight"),
    };

    // The {f} of each FFN site. GGUF stacks all routed experts into one tensor (no index); minimind2-hf numbers its
    // shared experts, 2024/minimind2 have at most one (n_shared_experts is a bool there).
    private static readonly Dictionary<FfnSite, Row> Sites = new()
    {
        [FfnSite.Dense] =  new("",                 "",                     ""),
        [FfnSite.Expert] = new(".experts.{i}",     ".experts.{i}",         "_exps"),
        [FfnSite.Shared] = new(".shared_experts",  ".shared_experts.{i}",  "_shexp"),
    };

    /// <summary>transformers 5's fused Qwen3-MoE experts of layer {l}: gate and up stacked [E, 2I, D].</summary>
    public const string HfFusedGateUp = "model.layers.{l}.mlp.experts.gate_up_proj";
    /// <summary>transformers 5's fused Qwen3-MoE down projections of layer {l} [E, D, I].</summary>
    public const string HfFusedDown = "model.layers.{l}.mlp.experts.down_proj";
    /// <summary>llama.cpp's fused q/k/v projection of layer {l} (bailingmoe).</summary>
    public const string GgufFusedQkv = "blk.{l}.attn_qkv.weight";

    private readonly Func<Row, string> _column;

    private KeyTable(string name, Func<Row, string> column) { Name = name; _column = column; }

    /// <summary>What this layout is, for messages.</summary>
    public string Name { get; }

    /// <summary>The keys of MiniMind's 2024 <c>Transformer</c> and minimind2 <c>MiniMindLM</c>.</summary>
    public static KeyTable Legacy { get; } = new("2024/minimind2", r => r.Legacy);
    /// <summary>The keys of <c>MiniMindForCausalLM</c> (minimind2-hf, minimind3) and of the HF folders <c>convert --to hf</c> writes.</summary>
    public static KeyTable Hf { get; } = new("HF", r => r.Hf);
    /// <summary>llama.cpp's tensor names.</summary>
    public static KeyTable Gguf { get; } = new("GGUF", r => r.Gguf);

    /// <summary>The checkpoint keys of <paramref name="g"/>.</summary>
    public static KeyTable Of(ModelGeneration g) => g is ModelGeneration.MiniMind2Hf or ModelGeneration.MiniMind3 ? Hf : Legacy;

    /// <summary>The name of <paramref name="role"/> in layer <paramref name="layer"/> (FFN roles: at <paramref name="site"/>, expert <paramref name="index"/>).</summary>
    public string this[ParameterRole role, int layer = 0, FfnSite site = FfnSite.Dense, int index = 0] =>
        _column(Rows[role]).Replace("{f}", _column(Sites[site]), StringComparison.Ordinal)
            .Replace("{l}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{i}", index.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>A pattern matching <paramref name="role"/>'s names for any layer (group <c>l</c>) and expert index (group <c>i</c>).</summary>
    public Regex Pattern(ParameterRole role, FfnSite site = FfnSite.Dense)
    {
        var template = _column(Rows[role]).Replace("{f}", _column(Sites[site]), StringComparison.Ordinal);
        var re = Regex.Escape(template).Replace(@"\{l}", @"(?<l>\d+)", StringComparison.Ordinal).Replace(@"\{i}", @"(?<i>\d+)", StringComparison.Ordinal);
        return new Regex("^" + re + "$", RegexOptions.CultureInvariant);
    }

    /// <summary>True when the shared experts of this layout are numbered (minimind2-hf), false when there is at most one.</summary>
    public bool NumbersSharedExperts => _column(Sites[FfnSite.Shared]).Contains("{i}", StringComparison.Ordinal);

    /// <summary>Replaces <c>{l}</c> in one of the fused-tensor templates.</summary>
    public static string AtLayer(string template, int layer) =>
        template.Replace("{l}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}

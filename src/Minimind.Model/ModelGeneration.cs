namespace Minimind.Model;

/// <summary>Which published MiniMind code wrote (or will read) the checkpoint; decides the key names.</summary>
public enum ModelGeneration
{
    /// <summary>2024 <c>Transformer</c>/<c>LMConfig</c>: keys <c>tok_embeddings</c>, <c>layers.N.attention.wq</c>, ...</summary>
    V2024,
    /// <summary>minimind2 <c>MiniMindLM</c>: same keys as 2024.</summary>
    MiniMind2,
    /// <summary>minimind2 <c>MiniMindForCausalLM</c>: keys <c>model.layers.N.self_attn.q_proj</c>, ...</summary>
    MiniMind2Hf,
    /// <summary>minimind-3 <c>MiniMindForCausalLM</c>: HF keys plus per-head <c>q_norm</c>/<c>k_norm</c>.</summary>
    MiniMind3,
}

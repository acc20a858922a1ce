namespace Minimind.Model;

/// <summary>
/// Floating-point operations of one training token, the figure model-FLOPs utilisation is computed from (PaLM,
/// appendix B; nanoGPT's <c>estimate_mfu</c>): 6 per matmul weight a token passes through (2 forward, 2 for the input
/// gradient, 2 for the weight gradient), 4 for a frozen weight (no weight gradient), plus 12·layers·(heads·head_dim)·T
/// for the attention products QKᵀ and PV (forward and backward, counted over the full T×T square as the convention
/// does, though causal attention computes about half of it). Embedding lookups, norms and activations are not counted.
/// </summary>
public static class ModelFlops
{
    /// <summary>Matmul weights one token passes through: q/k/v/o, the FFN (for MoE, the top-k routed experts, the
    /// shared ones and the router) and the LM head.</summary>
    public static long MatmulWeightsPerToken(ModelConfig c)
    {
        long attn = (long)c.Dim * c.NHeads * c.HeadDim * 2 + (long)c.Dim * c.NKvHeads * c.HeadDim * 2;
        long expert = 3L * c.Dim * c.EffectiveHiddenDim;
        long ffn = c.UseMoe ? (c.TopK + c.NSharedExperts) * expert + (long)c.Dim * c.NExperts : expert;
        return c.NLayers * (attn + ffn) + (long)c.Dim * c.VocabSize;
    }

    /// <summary>Training FLOPs per token at sequence length <paramref name="seqLen"/>: 6 per trained matmul weight (4 when
    /// <paramref name="frozenBase"/>: LoRA, whose adapters add 6 per adapter weight, <paramref name="adapterWeights"/>) plus
    /// the attention term.</summary>
    public static double TrainingPerToken(ModelConfig c, int seqLen, bool frozenBase = false, long adapterWeights = 0) =>
        (frozenBase ? 4.0 : 6.0) * MatmulWeightsPerToken(c) + 6.0 * adapterWeights + 12.0 * c.NLayers * c.NHeads * c.HeadDim * seqLen;
}

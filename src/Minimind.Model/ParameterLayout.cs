using Minimind.Checkpoint;

namespace Minimind.Model;

/// <summary>The three projections of one SwiGLU feed-forward (w1/w2/w3 or gate/down/up_proj).</summary>
public readonly record struct FfnParams(ParameterEntry Gate, ParameterEntry Down, ParameterEntry Up);

/// <summary>The parameters of one transformer block.</summary>
public sealed class LayerParams
{
    /// <summary>Query projection [H·hd, D].</summary>
    public required ParameterEntry Wq { get; init; }
    /// <summary>Key projection [Hkv·hd, D].</summary>
    public required ParameterEntry Wk { get; init; }
    /// <summary>Value projection [Hkv·hd, D].</summary>
    public required ParameterEntry Wv { get; init; }
    /// <summary>Output projection [D, H·hd].</summary>
    public required ParameterEntry Wo { get; init; }
    /// <summary>Per-head query RMSNorm weight [hd] (minimind-3), else null.</summary>
    public ParameterEntry? QNorm { get; init; }
    /// <summary>Per-head key RMSNorm weight [hd] (minimind-3), else null.</summary>
    public ParameterEntry? KNorm { get; init; }
    /// <summary>Pre-attention RMSNorm weight [D].</summary>
    public required ParameterEntry AttnNorm { get; init; }
    /// <summary>Pre-FFN RMSNorm weight [D].</summary>
    public required ParameterEntry FfnNorm { get; init; }
    /// <summary>Dense FFN (when not MoE).</summary>
    public FfnParams? Ffn { get; init; }
    /// <summary>Router [E, D] (MoE).</summary>
    public ParameterEntry? Router { get; init; }
    /// <summary>Routed experts (MoE).</summary>
    public FfnParams[] Experts { get; init; } = Array.Empty<FfnParams>();
    /// <summary>Always-on shared experts (MoE).</summary>
    public FfnParams[] Shared { get; init; } = Array.Empty<FfnParams>();
}

/// <summary>
/// Builds the <see cref="ParameterTable"/> of a config: exactly the PyTorch state-dict keys of the
/// generation, in state-dict order (owner order = <c>model.parameters()</c> order; the output head is
/// a tied name of the embedding).
/// </summary>
public sealed class ParameterLayout
{
    /// <summary>The table (flat-buffer offsets).</summary>
    public ParameterTable Table { get; } = new();
    /// <summary>Token embedding [V, D] (also the output head when tied).</summary>
    public ParameterEntry Embedding { get; }
    /// <summary>Per-block parameters.</summary>
    public LayerParams[] Layers { get; }
    /// <summary>Final RMSNorm weight [D].</summary>
    public ParameterEntry FinalNorm { get; }
    /// <summary>Output head [V, D]; the embedding's storage when tied.</summary>
    public ParameterEntry Head { get; }
    /// <summary>The PPO critic's <c>value_head.weight</c> [1, D] (train_ppo.py's CriticModel), else null.</summary>
    public ParameterEntry? ValueHead { get; }
    /// <summary>The PPO critic's <c>value_head.bias</c> [1], else null.</summary>
    public ParameterEntry? ValueBias { get; }

    /// <summary>
    /// Lays the parameters of <paramref name="c"/> out; with <paramref name="valueHead"/>, the keys of MiniMind's PPO
    /// critic (the causal LM's, then <c>value_head.weight</c> and <c>value_head.bias</c>, in its state-dict order).
    /// </summary>
    public ParameterLayout(ModelConfig c, bool valueHead = false)
    {
        c.Validate();
        int d = c.Dim, hd = c.HeadDim, f = c.EffectiveHiddenDim;
        var k = KeyTable.Of(c.Generation);
        Embedding = Table.Add(k[ParameterRole.Embedding], c.VocabSize, d);
        Layers = new LayerParams[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            FfnParams AddFfn(FfnSite site, int i) => new(
                Table.Add(k[ParameterRole.FfnGate, l, site, i], f, d),
                Table.Add(k[ParameterRole.FfnDown, l, site, i], d, f),
                Table.Add(k[ParameterRole.FfnUp, l, site, i], f, d));
            var wq = Table.Add(k[ParameterRole.Wq, l], c.NHeads * hd, d);
            var wk = Table.Add(k[ParameterRole.Wk, l], c.NKvHeads * hd, d);
            var wv = Table.Add(k[ParameterRole.Wv, l], c.NKvHeads * hd, d);
            var wo = Table.Add(k[ParameterRole.Wo, l], d, c.NHeads * hd);
            ParameterEntry? qn = null, kn = null;
            if (c.QkNorm) { qn = Table.Add(k[ParameterRole.QNorm, l], hd); kn = Table.Add(k[ParameterRole.KNorm, l], hd); }
            var n1 = Table.Add(k[ParameterRole.AttnNorm, l], d);
            var n2 = Table.Add(k[ParameterRole.FfnNorm, l], d);
            FfnParams? dense = null;
            ParameterEntry? router = null;
            var experts = Array.Empty<FfnParams>();
            var shared = Array.Empty<FfnParams>();
            if (!c.UseMoe) dense = AddFfn(FfnSite.Dense, 0);
            else
            {
                // minimind-3 registers the router before the experts; earlier generations after them
                if (c.Generation == ModelGeneration.MiniMind3) router = Table.Add(k[ParameterRole.Router, l], c.NExperts, d);
                experts = new FfnParams[c.NExperts];
                for (int e = 0; e < c.NExperts; e++) experts[e] = AddFfn(FfnSite.Expert, e);
                if (c.Generation != ModelGeneration.MiniMind3) router = Table.Add(k[ParameterRole.Router, l], c.NExperts, d);
                shared = new FfnParams[c.NSharedExperts];
                for (int s = 0; s < c.NSharedExperts; s++) shared[s] = AddFfn(FfnSite.Shared, s);
            }
            Layers[l] = new LayerParams
            {
                Wq = wq, Wk = wk, Wv = wv, Wo = wo, QNorm = qn, KNorm = kn, AttnNorm = n1, FfnNorm = n2,
                Ffn = dense, Router = router, Experts = experts, Shared = shared,
            };
        }
        FinalNorm = Table.Add(k[ParameterRole.FinalNorm], d);
        Head = c.TiedEmbeddings ? Table.AddTied(k[ParameterRole.Head], Embedding.Name) : Table.Add(k[ParameterRole.Head], c.VocabSize, d);
        if (valueHead)
        {
            ValueHead = Table.Add("value_head.weight", 1, d);
            ValueBias = Table.Add("value_head.bias", 1);
        }
    }
}

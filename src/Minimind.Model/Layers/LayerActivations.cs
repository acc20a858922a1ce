using Minimind.Kernels;

namespace Minimind.Model.Layers;

/// <summary>What one transformer block saves in the forward pass for its backward (views into the arena).</summary>
public sealed class LayerActivations
{
    /// <summary>1/rms of the block input rows [N].</summary>
    public Tensor Rstd1;
    /// <summary>attention_norm(x) [N, D].</summary>
    public Tensor Ln1;
    /// <summary>q/k projections before the per-head norm [N, H·hd], [N, Hkv·hd] (minimind-3 only).</summary>
    public Tensor QRaw, KRaw;
    /// <summary>1/rms of every q/k head [N·H], [N·Hkv] (minimind-3 only).</summary>
    public Tensor RstdQ, RstdK;
    /// <summary>Rotated q [N, H·hd], rotated k and v [N, Hkv·hd].</summary>
    public Tensor Q, K, V;
    /// <summary>Attention output before wo [N, H·hd] and its log-sum-exp rows [B·H·T].</summary>
    public Tensor Att, Lse;
    /// <summary>x + attention [N, D].</summary>
    public Tensor XMid;
    /// <summary>1/rms of XMid rows [N] and ffn_norm(XMid) [N, D].</summary>
    public Tensor Rstd2, Ln2;
    /// <summary>Dense FFN activations [N, F].</summary>
    public FfnActs Dense;
    /// <summary>Router probabilities [N, E] and the chosen top-k weights [N·k].</summary>
    public Tensor Probs, TopW;
    /// <summary>Chosen experts [N·k] and the expert-grouping permutation and its inverse [N·k].</summary>
    public IntTensor TopIdx, Perm, InvPerm;
    /// <summary>Tokens gathered into expert order [N·k, D] and the experts' outputs [N·k, D].</summary>
    public Tensor Xs, ExpertOut;
    /// <summary>Routed expert activations [N·k, F] (rows grouped by expert).</summary>
    public FfnActs Experts;
    /// <summary>Shared expert activations [N, F] each.</summary>
    public FfnActs[] Shared = Array.Empty<FfnActs>();
    /// <summary>Rows routed to each expert in the last forward (host copy from MoeRoute).</summary>
    public int[] Counts = Array.Empty<int>();

    /// <summary>
    /// Another block's views for a forward-only model: this block's activations (overwritten by the next block) with
    /// its own router probabilities and top-k choices from <paramref name="a"/>, which the MoE aux loss reads after the
    /// forward (MoE only; a dense block shares everything).
    /// </summary>
    public LayerActivations WithOwnRouting(ActivationArena a, ModelConfig c, int n)
    {
        var l = (LayerActivations)MemberwiseClone();
        if (!c.UseMoe) return l;
        long nk = (long)n * c.TopK;
        l.Probs = a.Float((long)n * c.NExperts);
        l.TopIdx = a.Int(nk);
        l.Counts = Array.Empty<int>();
        return l;
    }

    /// <summary>Takes this block's views from <paramref name="a"/> for up to <paramref name="n"/> rows.</summary>
    public static LayerActivations Allocate(ActivationArena a, ModelConfig c, int n, int batch)
    {
        int d = c.Dim, hq = c.NHeads * c.HeadDim, hk = c.NKvHeads * c.HeadDim, f = c.EffectiveHiddenDim;
        var l = new LayerActivations
        {
            Rstd1 = a.Float(n), Ln1 = a.Float((long)n * d),
            Q = a.Float((long)n * hq), K = a.Float((long)n * hk), V = a.Float((long)n * hk),
            Att = a.Float((long)n * hq), Lse = a.Float((long)n * c.NHeads),
            XMid = a.Float((long)n * d), Rstd2 = a.Float(n), Ln2 = a.Float((long)n * d),
        };
        if (c.QkNorm)
        {
            l.QRaw = a.Float((long)n * hq); l.KRaw = a.Float((long)n * hk);
            l.RstdQ = a.Float((long)n * c.NHeads); l.RstdK = a.Float((long)n * c.NKvHeads);
        }
        if (!c.UseMoe)
        {
            l.Dense = new FfnActs(a.Float((long)n * f), a.Float((long)n * f), a.Float((long)n * f));
            return l;
        }
        long nk = (long)n * c.TopK;
        l.Probs = a.Float((long)n * c.NExperts); l.TopW = a.Float(nk);
        l.TopIdx = a.Int(nk); l.Perm = a.Int(nk); l.InvPerm = a.Int(nk);
        l.Xs = a.Float(nk * d); l.ExpertOut = a.Float(nk * d);
        l.Experts = new FfnActs(a.Float(nk * f), a.Float(nk * f), a.Float(nk * f));
        l.Shared = new FfnActs[c.NSharedExperts];
        for (int s = 0; s < l.Shared.Length; s++)
            l.Shared[s] = new FfnActs(a.Float((long)n * f), a.Float((long)n * f), a.Float((long)n * f));
        return l;
    }
}

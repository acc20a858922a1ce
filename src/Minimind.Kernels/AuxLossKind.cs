namespace Minimind.Kernels;

/// <summary>The MoE load-balancing loss formula.</summary>
public enum AuxLossKind
{
    /// <summary>No auxiliary loss.</summary>
    None,
    /// <summary>Sequence-level loss of the 2024 model and minimind2 (<c>seq_aux=True</c>):
    /// per sequence b, ce[b,e] = count of top-k picks of expert e / (T·k/E);
    /// aux = alpha · mean_b Σ_e ce[b,e] · mean_t p[b,t,e].</summary>
    SequenceLevel,
    /// <summary>Token-level loss of the 2024 model and minimind2 with <c>seq_aux=False</c>:
    /// aux = alpha · E · Σ_e (picks of e / (N·k)) · mean_t p[t,e], over all N tokens of the batch.</summary>
    TokenLevel,
    /// <summary>minimind-3's loss (<c>load = one_hot(topk_idx).mean(0)</c>):
    /// aux = coef · E · Σ_e (picks of e / N) · mean_t p[t,e]; equals TokenLevel · k.</summary>
    MiniMind3,
}

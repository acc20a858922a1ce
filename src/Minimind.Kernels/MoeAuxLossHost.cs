namespace Minimind.Kernels;

/// <summary>
/// The MoE load-balancing loss on the host, in float64, shared by every backend (the ILGPU backend downloads
/// probs/indices for it: B·T·E floats, small next to the activations). The loss is Σ_e coef[e]·mean_t p[t,e] per
/// group, where coef carries the gradient-free expert counts; so the gradient is one constant per (group, expert).
/// </summary>
internal static class MoeAuxLossHost
{
    /// <summary>Groups: one per sequence (SequenceLevel) or one for the whole batch (token-level kinds).</summary>
    public static int Groups(AuxLossKind kind, int batch) => kind == AuxLossKind.SequenceLevel ? batch : 1;

    /// <summary>
    /// Returns the loss and writes <paramref name="grad"/>[g·experts + e] = gradScale·coef[e]/rows-per-group, the value
    /// every row of group g adds to dProbs[row, e]. Throws naming the entry when an index is outside [0, experts).
    /// </summary>
    public static double Compute(string op, ReadOnlySpan<float> probs, ReadOnlySpan<int> indices, int batch, int seqLen, int experts,
        int k, float alpha, AuxLossKind kind, float gradScale, Span<float> grad)
    {
        int n = batch * seqLen;
        for (int a = 0; a < n * k; a++)
            if ((uint)indices[a] >= (uint)experts)
                throw new ArgumentOutOfRangeException(nameof(indices), $"{op}: indices[{a}] = {indices[a]} is outside [0, {experts})");
        int groups = Groups(kind, batch), rowsPer = n / groups;
        var count = new double[experts];
        var pSum = new double[experts];
        double loss = 0;
        for (int g = 0; g < groups; g++)
        {
            Array.Clear(count); Array.Clear(pSum);
            for (int r = g * rowsPer; r < (g + 1) * rowsPer; r++)
            {
                for (int s = 0; s < k; s++) count[indices[r * k + s]] += 1;
                for (int e = 0; e < experts; e++) pSum[e] += probs[r * experts + e];
            }
            for (int e = 0; e < experts; e++)
            {
                double coef = kind switch
                {
                    AuxLossKind.SequenceLevel => alpha * count[e] / ((double)seqLen * k / experts) / batch,
                    AuxLossKind.TokenLevel => (double)alpha * experts * count[e] / ((double)n * k),
                    AuxLossKind.MiniMind3 => (double)alpha * experts * count[e] / n,
                    _ => throw new ArgumentOutOfRangeException(nameof(kind), $"{op}: unknown AuxLossKind {kind}"),
                };
                loss += coef * (pSum[e] / rowsPer);
                grad[g * experts + e] = (float)(gradScale * coef / rowsPer);
            }
        }
        return loss;
    }
}

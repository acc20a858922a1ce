namespace Minimind.Training.Rl;

/// <summary>One PPO minibatch's losses and what MiniMind logs about them.</summary>
/// <param name="PolicyLoss">Clipped surrogate, masked mean, + kl_coef·k3 to the reference.</param>
/// <param name="ValueLoss">0.5·max((V − R)², (clip(V, V_old ± c) − R)²), masked mean.</param>
/// <param name="ApproxKl">0.5·(log ρ)², masked mean (the early-stop statistic).</param>
/// <param name="ClipFraction">Counted tokens with |ρ − 1| > ε.</param>
/// <param name="KlRef">k3 to the reference, masked mean.</param>
public readonly record struct PpoLossResult(float PolicyLoss, float ValueLoss, float ApproxKl, float ClipFraction, float KlRef)
{
    /// <summary>policy + vf_coef·value (the aux loss and the accumulation scaling aside).</summary>
    public float Total(PpoOptions o) => PolicyLoss + (float)o.VfCoef * ValueLoss;
}

/// <summary>
/// train_ppo.py's minibatch loss and its exact gradients with respect to the actor's per-token log-probs and the
/// critic's values: policy max(−Aρ, −A·clip(ρ, 1 ± ε)) masked mean + kl_coef·k3, value 0.5·max((V − R)²,
/// (clip(V, V_old ± c) − R)²) masked mean, total policy + vf_coef·value. PyTorch's autograd conventions at ties and
/// bounds (a max tie splits the gradient; clamp passes it at its bounds). The early stop is the caller's: MiniMind
/// decides it from <see cref="ApproxKl"/> (averaged over ranks) before the loss, and then back-propagates the loss × 0.
/// </summary>
public static class PpoLoss
{
    /// <summary>The approximate KL 0.5·(log π − log π_old)² over the masked tokens of <paramref name="rows"/>.</summary>
    public static float ApproxKl(PpoAdvantages rollout, ReadOnlySpan<int> rows, ReadOnlySpan<float> logp, ReadOnlySpan<float> oldLogp)
    {
        int w = rollout.Width;
        double acc = 0, m = 0;
        for (int k = 0; k < rows.Length; k++)
            for (int t = 0; t < w; t++)
            {
                int i = rows[k] * w + t;
                float lr = logp[k * w + t] - oldLogp[i];
                acc += (double)(0.5f * (lr * lr)) * rollout.Mask[i];
                m += rollout.Mask[i];
            }
        return (float)(acc / Math.Max(m, 1.0));
    }

    /// <summary>
    /// The losses of minibatch <paramref name="rows"/> (indices into the rollout) given the current
    /// <paramref name="logp"/> and <paramref name="values"/> [rows.Length × width]; <paramref name="oldLogp"/> and
    /// <paramref name="refLogp"/> are the whole rollout's. Writes scale·∂(policy + vf_coef·value)/∂ into
    /// <paramref name="dLogp"/> and <paramref name="dValues"/> (scale: 1/accumulation steps, or 0 once stopped).
    /// </summary>
    public static PpoLossResult Compute(PpoAdvantages rollout, ReadOnlySpan<int> rows, ReadOnlySpan<float> logp, ReadOnlySpan<float> values,
        ReadOnlySpan<float> oldLogp, ReadOnlySpan<float> refLogp, PpoOptions options, float scale, Span<float> dLogp, Span<float> dValues)
    {
        int w = rollout.Width, b = rows.Length;
        CompletionMask.Check(logp.Length, b, w, "log-probs");
        CompletionMask.Check(values.Length, b, w, "values");
        CompletionMask.Check(dLogp.Length, b, w, "log-prob gradient");
        CompletionMask.Check(dValues.Length, b, w, "value gradient");
        CompletionMask.Check(oldLogp.Length, rollout.Rows, w, "old log-probs");
        CompletionMask.Check(refLogp.Length, rollout.Rows, w, "reference log-probs");
        double m = 0;
        for (int k = 0; k < b; k++)
            for (int t = 0; t < w; t++) m += rollout.Mask[rows[k] * w + t];
        float invM = (float)(1.0 / Math.Max(m, 1.0));
        float eps = (float)options.ClipEpsilon, lo = (float)(1.0 - options.ClipEpsilon), hi = (float)(1.0 + options.ClipEpsilon);
        float klCoef = (float)options.KlCoef, vf = (float)options.VfCoef, cv = (float)options.ClipRangeValue;
        double pol = 0, kl3 = 0, val = 0, approx = 0, clipped = 0;
        for (int k = 0; k < b; k++)
        {
            int r = rows[k];
            for (int t = 0; t < w; t++)
            {
                int i = r * w + t, j = k * w + t;
                float mask = rollout.Mask[i], a = rollout.Advantages[i];
                float lr = logp[j] - oldLogp[i];
                float ratio = MathF.Exp(lr);
                approx += (double)(0.5f * (lr * lr)) * mask;
                if (MathF.Abs(ratio - 1f) > eps) clipped += mask;
                // policy: max(−Aρ, −A·clamp(ρ))
                float cr = Math.Clamp(ratio, lo, hi);
                float u1 = -a * ratio, u2 = -a * cr;
                float du1 = -a * ratio, du2 = ratio >= lo && ratio <= hi ? -a * ratio : 0f;
                float mx = MathF.Max(u1, u2);
                float dmx = u1 > u2 ? du1 : u1 < u2 ? du2 : 0.5f * du1 + 0.5f * du2;
                pol += (double)mx * mask;
                float d = refLogp[i] - logp[j], expD = MathF.Exp(d);
                kl3 += (double)(expD - d - 1f) * mask;
                dLogp[j] = mask == 0 ? 0f : (dmx + klCoef * (1f - expD)) * (mask * invM) * scale;
                // value: 0.5·max((V − R)², (clamp(V, V_old ± c) − R)²)
                float v = values[j], ret = rollout.Returns[i], vOld = rollout.OldValues[i];
                float vlo = vOld - cv, vhi = vOld + cv;
                float vc = MathF.Min(MathF.Max(v, vlo), vhi);
                float e1 = v - ret, e2 = vc - ret;
                float s1 = e1 * e1, s2 = e2 * e2;
                float ds1 = 2f * e1, ds2 = v >= vlo && v <= vhi ? 2f * e2 : 0f;
                float vmx = MathF.Max(s1, s2);
                float dvmx = s1 > s2 ? ds1 : s1 < s2 ? ds2 : 0.5f * ds1 + 0.5f * ds2;
                val += (double)vmx * mask;
                dValues[j] = mask == 0 ? 0f : vf * 0.5f * dvmx * (mask * invM) * scale;
            }
        }
        double mm = Math.Max(m, 1.0);
        return new PpoLossResult((float)(pol / mm + klCoef * (kl3 / mm)), (float)(0.5 * val / mm), (float)(approx / mm),
            (float)(clipped / mm), (float)(kl3 / mm));
    }
}

namespace Minimind.Training.Rl;

/// <summary>The policy objective of <c>--stage grpo</c> and <c>--stage agent</c> (<c>--loss-type</c>).</summary>
public enum PolicyLossType
{
    /// <summary>CISPO (MiniMind's default): −(sg(min(ρ, ε_high))·A·log π − β·KL).</summary>
    Cispo,
    /// <summary>GRPO: −(min(ρA, clip(ρ, 1 − ε, 1 + ε)·A) − β·KL).</summary>
    Grpo,
}

/// <summary>GRPO/CISPO hyper-parameters, MiniMind's defaults (<c>--beta 0.1 --epsilon 0.2 --epsilon-high 5.0</c>).</summary>
/// <remarks>Doubles, as Python's floats: each is rounded to float32 where MiniMind's tensors meet it (1 − ε is formed first).</remarks>
public sealed record PolicyLossOptions(PolicyLossType Type = PolicyLossType.Cispo, double Beta = 0.1, double Epsilon = 0.2, double EpsilonHigh = 5.0);

/// <summary>One step's policy loss and what MiniMind logs about it.</summary>
/// <param name="Loss">The loss (before the MoE aux loss and the accumulation scaling).</param>
/// <param name="KlLogged">MiniMind's logged "KL_ref": Σ(ref − log π)·mask / Σ mask.</param>
/// <param name="KlK3">The k3 estimate the loss penalises, masked mean.</param>
/// <param name="ClipFraction">Counted tokens whose ratio the objective clips (GRPO: outside [1 − ε, 1 + ε]; CISPO: above ε_high).</param>
/// <param name="Tokens">Counted tokens.</param>
public readonly record struct PolicyLossResult(float Loss, float KlLogged, float KlK3, float ClipFraction, int Tokens);

/// <summary>
/// MiniMind's GRPO/CISPO loss over per-token log-probs (train_grpo.py; train_agent.py with <c>skipEmptyRows</c>) and its
/// exact gradient with respect to the policy's per-token log-probs, which the model turns into the logits' gradient
/// (see MiniMindModel.TokenLogProbsBackward). k3 KL to the reference exp(ref − π) − (ref − π) − 1, ratio
/// ρ = exp(π − π_old); per-token losses averaged over each row's counted tokens, then over the rows. Where PyTorch's
/// min/clamp have ties or bounds, the gradient follows its autograd (a tie splits the gradient in half; clamp passes it
/// at the bounds). Per-token arithmetic is float32 as MiniMind's tensors; sums are float64.
/// </summary>
public static class PolicyLoss
{
    /// <summary>
    /// The loss of <paramref name="logp"/> [rows × width] and, into <paramref name="dLogp"/> (same shape, overwritten),
    /// its gradient times <paramref name="scale"/>. <paramref name="advantages"/> has one value per row. With
    /// <paramref name="skipEmptyRows"/> rows without a counted token leave the mean (train_agent.py), else they count as 0.
    /// </summary>
    public static PolicyLossResult Compute(ReadOnlySpan<float> logp, ReadOnlySpan<float> oldLogp, ReadOnlySpan<float> refLogp,
        ReadOnlySpan<float> mask, ReadOnlySpan<float> advantages, int rows, int width, PolicyLossOptions options,
        bool skipEmptyRows, float scale, Span<float> dLogp)
    {
        CompletionMask.Check(logp.Length, rows, width, "log-probs");
        CompletionMask.Check(oldLogp.Length, rows, width, "old log-probs");
        CompletionMask.Check(refLogp.Length, rows, width, "reference log-probs");
        CompletionMask.Check(mask.Length, rows, width, "mask");
        CompletionMask.Check(dLogp.Length, rows, width, "gradient");
        if (advantages.Length != rows) throw new ArgumentException($"{advantages.Length} advantages for {rows} rows");
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            bool any = false;
            for (int t = 0; t < width; t++) any |= mask[r * width + t] != 0;
            if (any || !skipEmptyRows) counted++;
        }
        double loss = 0, kl = 0, k3 = 0, sumMask = 0, clipped = 0;
        float beta = (float)options.Beta, high = (float)options.EpsilonHigh;
        float lo = (float)(1 - options.Epsilon), hi = (float)(1 + options.Epsilon);
        for (int r = 0; r < rows; r++)
        {
            double rowLoss = 0, rowMask = 0;
            for (int t = 0; t < width; t++) rowMask += mask[r * width + t];
            float a = advantages[r];
            // d mean / d per-token loss: mask / max(count, 1) / rows counted
            float rowWeight = counted == 0 || (skipEmptyRows && rowMask == 0) ? 0f : 1f / counted / (float)Math.Max(rowMask, 1.0);
            for (int t = 0; t < width; t++)
            {
                int i = r * width + t;
                float pi = logp[i], d = refLogp[i] - pi;
                float expD = MathF.Exp(d);
                float kt = expD - d - 1f;
                float dk = 1f - expD;                           // d k3 / d log π
                float ratio = MathF.Exp(pi - oldLogp[i]);
                float l, dl;
                if (options.Type == PolicyLossType.Cispo)
                {
                    float c = MathF.Min(ratio, high);    // detached
                    l = -(c * a * pi - beta * kt);
                    dl = -(c * a) + beta * dk;
                    if (mask[i] != 0 && ratio > high) clipped++;
                }
                else
                {
                    float cr = Math.Clamp(ratio, lo, hi);
                    float u1 = ratio * a, u2 = cr * a;
                    float du1 = ratio * a, du2 = ratio >= lo && ratio <= hi ? ratio * a : 0f;
                    float m = MathF.Min(u1, u2);
                    float dm = u1 < u2 ? du1 : u1 > u2 ? du2 : 0.5f * du1 + 0.5f * du2;
                    l = -(m - beta * kt);
                    dl = -dm + beta * dk;
                    if (mask[i] != 0 && (ratio < lo || ratio > hi)) clipped++;
                }
                float w = mask[i];
                rowLoss += (double)l * w;
                kl += (double)d * w;
                k3 += (double)kt * w;
                dLogp[i] = w == 0 ? 0f : dl * (w * rowWeight) * scale;
            }
            sumMask += rowMask;
            if (!(skipEmptyRows && rowMask == 0)) loss += rowLoss / Math.Max(rowMask, 1.0);
        }
        double denom = Math.Max(sumMask, 1.0);
        return new PolicyLossResult(counted == 0 ? 0f : (float)(loss / counted), (float)(kl / denom), (float)(k3 / denom),
            (float)(clipped / denom), (int)sumMask);
    }
}

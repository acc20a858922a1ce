namespace Minimind.Training.Rl;

/// <summary>
/// What train_ppo.py computes from one rollout before its update epochs, [rows × width] over the response tokens:
/// the policy/value mask (<see cref="CompletionMask"/>), the sequence reward placed on each response's last counted
/// token, the old values masked to the response, GAE advantages (γ, λ; V = 0 past the last column), the returns
/// (advantages + old values, before whitening) and the advantages whitened over every masked token of the rollout
/// ((A − mean)·rsqrt(var + 1e-8)·mask, population variance). Elementwise float32 in MiniMind's order; sums float64.
/// A rollout batch spread over several micro-batches (data parallel) is whitened over all of them: <see cref="Gae"/> on
/// each, <see cref="Whitening"/> over all of them in micro-batch order, <see cref="Whiten"/> each — one batch's
/// <see cref="Compute"/> is exactly those three on itself.
/// </summary>
public sealed class PpoAdvantages
{
    /// <summary>Rows (responses).</summary>
    public int Rows { get; }
    /// <summary>Response tokens per row.</summary>
    public int Width { get; }
    /// <summary>Counted tokens (1/0): the policy and the value mask.</summary>
    public float[] Mask { get; }
    /// <summary>Each row's response length (to the first eos, inclusive).</summary>
    public int[] Lengths { get; }
    /// <summary>The per-token rewards: the sequence reward on the last counted token.</summary>
    public float[] TokenRewards { get; }
    /// <summary>The critic's values at rollout time, masked.</summary>
    public float[] OldValues { get; }
    /// <summary>GAE advantages, whitened and masked (raw GAE advantages before <see cref="Whiten"/>).</summary>
    public float[] Advantages { get; }
    /// <summary>The value targets: GAE advantages + old values (before whitening).</summary>
    public float[] Returns { get; }

    private PpoAdvantages(int rows, int width, float[] mask, int[] lengths, float[] tokenRewards, float[] oldValues, float[] adv, float[] returns)
    {
        Rows = rows; Width = width; Mask = mask; Lengths = lengths; TokenRewards = tokenRewards; OldValues = oldValues;
        Advantages = adv; Returns = returns;
    }

    /// <summary>
    /// From the completion ids [rows × width] (<paramref name="present"/> marks generated tokens; empty = all), the
    /// critic's values at each response position at rollout time, and one reward per row.
    /// </summary>
    public static PpoAdvantages Compute(ReadOnlySpan<int> completionIds, ReadOnlySpan<float> present, int rows, int width, int eosId,
        ReadOnlySpan<float> values, ReadOnlySpan<float> rewards, PpoOptions options)
    {
        var gae = Gae(completionIds, present, rows, width, eosId, values, rewards, options);
        var (mean, rstd) = Whitening(new[] { (gae.Advantages, gae.Mask) });
        return gae.Whiten(mean, rstd);
    }

    /// <summary><see cref="Compute"/> before the whitening: <see cref="Advantages"/> holds the raw GAE advantages.</summary>
    public static PpoAdvantages Gae(ReadOnlySpan<int> completionIds, ReadOnlySpan<float> present, int rows, int width, int eosId,
        ReadOnlySpan<float> values, ReadOnlySpan<float> rewards, PpoOptions options)
    {
        CompletionMask.Check(values.Length, rows, width, "values");
        if (rewards.Length != rows) throw new ArgumentException($"{rewards.Length} rewards for {rows} rows");
        var mask = CompletionMask.UpToFirstEos(completionIds, present, rows, width, eosId);
        var lengths = CompletionMask.Lengths(completionIds, present, rows, width, eosId);
        int n = rows * width;
        var oldValues = new float[n];
        for (int i = 0; i < n; i++) oldValues[i] = values[i] * mask[i];
        var tokenRewards = new float[n];
        for (int r = 0; r < rows; r++)
        {
            bool any = false;
            for (int t = 0; t < width; t++) any |= present.IsEmpty || present[r * width + t] != 0;
            if (any && width > 0) tokenRewards[r * width + lengths[r] - 1] += rewards[r];
        }
        float gamma = (float)options.Gamma, gammaLambda = (float)(options.Gamma * options.Lambda);
        var adv = new float[n];
        for (int r = 0; r < rows; r++)
        {
            float last = 0f;
            for (int t = width - 1; t >= 0; t--)
            {
                int i = r * width + t;
                float next = t < width - 1 ? oldValues[i + 1] : 0f;
                float delta = tokenRewards[i] + gamma * next - oldValues[i];
                last = delta + gammaLambda * last;
                adv[i] = last;
            }
        }
        var returns = new float[n];
        for (int i = 0; i < n; i++) returns[i] = adv[i] + oldValues[i];
        return new PpoAdvantages(rows, width, mask, lengths, tokenRewards, oldValues, adv, returns);
    }

    /// <summary>
    /// The whitening's mean and 1/√(var + 1e-8) over every masked token of <paramref name="parts"/> (raw <see cref="Gae"/>
    /// advantages and their masks), summed in float64 in part order then row-major: the one rollout batch the parts make up.
    /// </summary>
    public static (float Mean, float RStd) Whitening(IReadOnlyList<(float[] Advantages, float[] Mask)> parts)
    {
        double sumMask = 0, sum = 0;
        foreach (var p in parts)
            for (int i = 0; i < p.Mask.Length; i++) { sumMask += p.Mask[i]; sum += (double)p.Advantages[i] * p.Mask[i]; }
        double count = Math.Max(sumMask, 1.0);
        float mean = (float)(sum / count);
        double sq = 0;
        foreach (var p in parts)
            for (int i = 0; i < p.Mask.Length; i++) { float c = p.Advantages[i] - mean; sq += (double)(c * c) * p.Mask[i]; }
        float var = (float)(sq / count);
        return (mean, 1f / MathF.Sqrt(var + 1e-8f));
    }

    /// <summary>These raw advantages whitened with <paramref name="mean"/> and <paramref name="rstd"/> (<see cref="Whitening"/>) and masked.</summary>
    public PpoAdvantages Whiten(float mean, float rstd)
    {
        var adv = new float[Advantages.Length];
        for (int i = 0; i < adv.Length; i++) adv[i] = (Advantages[i] - mean) * rstd * Mask[i];
        return new PpoAdvantages(Rows, Width, Mask, Lengths, TokenRewards, OldValues, adv, Returns);
    }
}

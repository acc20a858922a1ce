namespace Minimind.Model.Generation;

/// <summary>
/// Picks the next token from one row of logits as MiniMind-3's generate() does: temperature, repetition
/// penalty over the ids seen so far, top-k, top-p (nucleus), then a draw from the softmax with a seeded RNG.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _o;
    private readonly Random _rng;

    /// <summary>Creates a sampler; the RNG is seeded from the options.</summary>
    public Sampler(SamplingOptions options)
    {
        options.Validate();
        _o = options;
        _rng = new Random(options.Seed);
    }

    /// <summary>Index of the largest value; the lowest index on ties.</summary>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>The next token id given the logits (modified in place) and the ids so far.</summary>
    public int Next(Span<float> logits, ReadOnlySpan<int> seen)
    {
        bool greedy = _o.Greedy || _o.Temperature <= 0;
        if (!greedy) for (int i = 0; i < logits.Length; i++) logits[i] /= _o.Temperature;
        if (_o.RepetitionPenalty != 1f)
        {
            var done = new HashSet<int>();
            foreach (var id in seen)
            {
                if ((uint)id >= (uint)logits.Length || !done.Add(id)) continue;
                float s = logits[id];
                logits[id] = s > 0 ? s / _o.RepetitionPenalty : s * _o.RepetitionPenalty;
            }
        }
        if (greedy) return ArgMax(logits);
        if (_o.TopK > 0 && _o.TopK < logits.Length)
        {
            var sorted = logits.ToArray();
            Array.Sort(sorted);
            float kth = sorted[^_o.TopK];
            for (int i = 0; i < logits.Length; i++) if (logits[i] < kth) logits[i] = float.NegativeInfinity;
        }
        // probabilities (float64 for a stable cumulative sum)
        double max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double z = 0;
        for (int i = 0; i < p.Length; i++) { p[i] = Math.Exp(logits[i] - max); z += p[i]; }
        for (int i = 0; i < p.Length; i++) p[i] /= z;
        if (_o.TopP < 1f)
        {
            // keep tokens in descending order until the mass before them exceeds top_p (the first is always kept)
            var order = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).ToArray();
            double cum = 0;
            foreach (int i in order)
            {
                bool remove = cum > _o.TopP;   // the mass of the more likely tokens already exceeds p
                cum += p[i];
                if (remove) p[i] = 0;
            }
            double s = 0;
            foreach (var v in p) s += v;
            for (int i = 0; i < p.Length; i++) p[i] /= s;
        }
        double u = _rng.NextDouble(), acc = 0;
        int last = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] <= 0) continue;
            last = i;
            acc += p[i];
            if (u < acc) return i;
        }
        return last;
    }
}

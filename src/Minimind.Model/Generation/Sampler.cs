using Minimind.Model.Data;

namespace Minimind.Model.Generation;

/// <summary>
/// Picks the next token from one row of logits as MiniMind-3's generate() does: temperature, repetition
/// penalty over the ids seen so far, top-k, top-p (nucleus), then a draw from the softmax. Each sampler owns its
/// random stream (<see cref="SplitMix64"/>, one draw per sampled token, none when greedy), so a sequence's tokens do not
/// depend on what else is sampled beside it, and the stream's whole state is one integer (<see cref="RngState"/>) that a
/// checkpoint can hold: <c>new Sampler(options, RngState)</c> continues it exactly.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _o;
    private SplitMix64 _rng;
    private double[] _p = Array.Empty<double>();
    private int[] _candidates = Array.Empty<int>();

    /// <summary>Creates a sampler whose stream starts from the options' seed.</summary>
    public Sampler(SamplingOptions options) : this(options, SeedState(options.Seed)) { }

    /// <summary>Creates a sampler whose stream continues from <paramref name="rngState"/> (a saved <see cref="RngState"/>).</summary>
    public Sampler(SamplingOptions options, ulong rngState)
    {
        options.Validate();
        _o = options;
        _rng = new SplitMix64(rngState);
    }

    /// <summary>The random stream's state from a user seed (<c>--seed</c>, a request's <c>seed</c>).</summary>
    public static ulong SeedState(long seed) => unchecked((ulong)seed);

    /// <summary>The sampling knobs.</summary>
    public SamplingOptions Options => _o;

    /// <summary>The random stream's whole state now: save it to resume sampling where it stands.</summary>
    public ulong RngState => _rng.State;

    /// <summary>True when <see cref="Next"/> takes the most likely token (no random draw).</summary>
    public bool IsGreedy => _o.Greedy || _o.Temperature <= 0;

    /// <summary>Index of the largest value; the lowest index on ties.</summary>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>log softmax(<paramref name="logits"/>)[<paramref name="id"/>], in float64: the raw model's log-probability
    /// of a token (temperature 1, no top-k/top-p), as MiniMind's per-token log-probs take it.</summary>
    public static double LogProb(ReadOnlySpan<float> logits, int id)
    {
        double max = double.NegativeInfinity;
        foreach (var v in logits) max = Math.Max(max, v);
        double z = 0;
        foreach (var v in logits) z += Math.Exp(v - max);
        return logits[id] - max - Math.Log(z);
    }

    /// <summary>The next token id given the logits (modified in place) and the ids so far.</summary>
    public int Next(Span<float> logits, ReadOnlySpan<int> seen)
    {
        if (!IsGreedy) for (int i = 0; i < logits.Length; i++) logits[i] /= _o.Temperature;
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
        if (IsGreedy) return ArgMax(logits);
        // top-k: everything below the k-th largest value goes (ties with it stay, as torch's `logits < topk[-1]`)
        float kth = _o.TopK > 0 && _o.TopK < logits.Length ? KthLargest(logits, _o.TopK) : float.NegativeInfinity;
        if (_p.Length < logits.Length) { _p = new double[logits.Length]; _candidates = new int[logits.Length]; }
        int n = 0;
        double max = double.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] < kth) { logits[i] = float.NegativeInfinity; continue; }
            if (float.IsNegativeInfinity(logits[i])) continue;
            _candidates[n++] = i;
            max = Math.Max(max, logits[i]);
        }
        // Probabilities (float64 for a stable cumulative sum) over the candidates in index order: the tokens left out have
        // probability exactly 0, so every sum below has the bits of the same sum over the whole vocabulary.
        var cand = _candidates.AsSpan(0, n);
        var p = _p;
        double z = 0;
        foreach (int i in cand) { p[i] = Math.Exp(logits[i] - max); z += p[i]; }
        foreach (int i in cand) p[i] /= z;
        if (_o.TopP < 1f)
        {
            // keep tokens in descending order until the mass before them exceeds top_p (the first is always kept)
            var order = cand.ToArray();
            Array.Sort(order, (a, b) => p[a] != p[b] ? p[b].CompareTo(p[a]) : a.CompareTo(b));
            double cum = 0;
            foreach (int i in order)
            {
                bool remove = cum > _o.TopP;   // the mass of the more likely tokens already exceeds p
                cum += p[i];
                if (remove) p[i] = 0;
            }
            double s = 0;
            foreach (int i in cand) s += p[i];
            foreach (int i in cand) p[i] /= s;
        }
        double u = _rng.NextDouble(), acc = 0;
        int last = 0;
        foreach (int i in cand)
        {
            if (p[i] <= 0) continue;
            last = i;
            acc += p[i];
            if (u < acc) return i;
        }
        return last;
    }

    // The k-th largest value (k ≥ 1): a min-heap of the k largest seen.
    private static float KthLargest(ReadOnlySpan<float> x, int k)
    {
        var heap = new float[k];
        int size = 0;
        foreach (float v in x)
        {
            if (size < k)
            {
                int i = size++;
                heap[i] = v;
                while (i > 0 && heap[(i - 1) / 2] > heap[i]) { (heap[i], heap[(i - 1) / 2]) = (heap[(i - 1) / 2], heap[i]); i = (i - 1) / 2; }
            }
            else if (v > heap[0])
            {
                heap[0] = v;
                int i = 0;
                while (true)
                {
                    int l = 2 * i + 1, r = l + 1, m = i;
                    if (l < k && heap[l] < heap[m]) m = l;
                    if (r < k && heap[r] < heap[m]) m = r;
                    if (m == i) break;
                    (heap[i], heap[m]) = (heap[m], heap[i]);
                    i = m;
                }
            }
        }
        return heap[0];
    }
}

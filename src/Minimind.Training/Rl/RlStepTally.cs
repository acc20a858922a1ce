using Minimind.Kernels.Distributed;

namespace Minimind.Training.Rl;

/// <summary>
/// An RL step's numbers over its rollout batches (what <c>IStepMetricsSource</c> reports): mean and population std of
/// the rewards over every completion, the token-weighted logged KL and clip fraction, counted tokens per completion,
/// rollout throughput (per rank: tokens over the ranks' summed rollout seconds) and the share of the step spent
/// rolling out. Under data parallel the batches of every rank are gathered on rank 0 in rank order, which is
/// micro-batch order, and summed as one process sums them: the reward, KL, clip and length of W = 2 equal W = 1's.
/// </summary>
public sealed class RlStepTally
{
    // One rollout batch: its rewards, then KL·tokens, clip·tokens, tokens, generated, rollout and update seconds.
    private readonly List<(float[] Rewards, double[] Sums)> _batches = new();
    private const int SumCount = 6;

    /// <summary>Adds one rollout batch: its rewards, its loss, the tokens the model generated, and the seconds spent.</summary>
    public void Add(IEnumerable<float> rewards, PolicyLossResult loss, long generated, double rolloutSeconds, double updateSeconds) =>
        _batches.Add((rewards.ToArray(), new[] { (double)loss.KlLogged * loss.Tokens, (double)loss.ClipFraction * loss.Tokens, loss.Tokens, generated, rolloutSeconds, updateSeconds }));

    /// <summary>
    /// The step's values over every rank of <paramref name="comm"/> on rank 0 (the other ranks get their own), in a fixed
    /// order (none before a batch was added). Every rank must call it.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, double>> Metrics(ICommunicator comm)
    {
        if (comm.Size == 1) return Metrics(_batches);
        var all = Collectives.Gather(comm, Serialize(), 0);
        return all is null ? Metrics(_batches) : Metrics(all.SelectMany(Deserialize).ToList());
    }

    private static IReadOnlyList<KeyValuePair<string, double>> Metrics(IReadOnlyList<(float[] Rewards, double[] Sums)> batches)
    {
        var rewards = batches.SelectMany(b => b.Rewards).ToList();
        if (rewards.Count == 0) return Array.Empty<KeyValuePair<string, double>>();
        double kl = 0, clip = 0, tok = 0, rolloutSeconds = 0, updateSeconds = 0;
        long generated = 0;
        foreach (var (_, s) in batches) { kl += s[0]; clip += s[1]; tok += s[2]; generated += (long)s[3]; rolloutSeconds += s[4]; updateSeconds += s[5]; }
        double mean = rewards.Average(x => (double)x);
        double std = Math.Sqrt(rewards.Average(x => (x - mean) * (x - mean)));
        double tokens = Math.Max(tok, 1);
        return new KeyValuePair<string, double>[]
        {
            new("reward", mean), new("reward_std", std), new("kl_ref", kl / tokens), new("clip_fraction", clip / tokens),
            new("completion_len", tok / rewards.Count), new("rollout_tokens_per_s", generated / Math.Max(rolloutSeconds, 1e-9)),
            new("rollout_share", rolloutSeconds / Math.Max(rolloutSeconds + updateSeconds, 1e-9)),
        };
    }

    // [batches] then per batch: [rewards] rewards… sums… (float64 each: the float rewards and the integer counts are exact).
    private byte[] Serialize()
    {
        var v = new List<double> { _batches.Count };
        foreach (var (r, s) in _batches) { v.Add(r.Length); v.AddRange(r.Select(x => (double)x)); v.AddRange(s); }
        var bytes = new byte[v.Count * sizeof(double)];
        Buffer.BlockCopy(v.ToArray(), 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static IEnumerable<(float[] Rewards, double[] Sums)> Deserialize(byte[] bytes)
    {
        var v = new double[bytes.Length / sizeof(double)];
        Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
        int at = 0, n = (int)v[at++];
        var batches = new List<(float[], double[])>(n);
        for (int b = 0; b < n; b++)
        {
            int count = (int)v[at++];
            var r = v.AsSpan(at, count).ToArray().Select(x => (float)x).ToArray();
            at += count;
            batches.Add((r, v.AsSpan(at, SumCount).ToArray()));
            at += SumCount;
        }
        return batches;
    }
}

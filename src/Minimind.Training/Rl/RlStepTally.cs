namespace Minimind.Training.Rl;

/// <summary>
/// An RL step's numbers over its rollout batches (what <c>IStepMetricsSource</c> reports): mean and population std of
/// the rewards over every completion, the token-weighted logged KL and clip fraction, counted tokens per completion,
/// rollout throughput and the share of the step spent rolling out.
/// </summary>
public sealed class RlStepTally
{
    private readonly List<float> _rewards = new();
    private double _kl, _clip, _tokens, _rolloutSeconds, _updateSeconds;
    private long _generated;

    /// <summary>Adds one rollout batch: its rewards, its loss, the tokens the model generated, and the seconds spent.</summary>
    public void Add(IEnumerable<float> rewards, PolicyLossResult loss, long generated, double rolloutSeconds, double updateSeconds)
    {
        _rewards.AddRange(rewards);
        _kl += (double)loss.KlLogged * loss.Tokens;
        _clip += (double)loss.ClipFraction * loss.Tokens;
        _tokens += loss.Tokens;
        _generated += generated;
        _rolloutSeconds += rolloutSeconds; _updateSeconds += updateSeconds;
    }

    /// <summary>The step's values in a fixed order (none before a batch was added).</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Metrics()
    {
        if (_rewards.Count == 0) return Array.Empty<KeyValuePair<string, double>>();
        double mean = _rewards.Average(x => (double)x);
        double std = Math.Sqrt(_rewards.Average(x => (x - mean) * (x - mean)));
        double tokens = Math.Max(_tokens, 1);
        return new KeyValuePair<string, double>[]
        {
            new("reward", mean), new("reward_std", std), new("kl_ref", _kl / tokens), new("clip_fraction", _clip / tokens),
            new("completion_len", _tokens / _rewards.Count), new("rollout_tokens_per_s", _generated / Math.Max(_rolloutSeconds, 1e-9)),
            new("rollout_share", _rolloutSeconds / Math.Max(_rolloutSeconds + _updateSeconds, 1e-9)),
        };
    }
}

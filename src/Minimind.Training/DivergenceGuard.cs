namespace Minimind.Training;

/// <summary>
/// Keeps a diverging run from reaching the weights or the checkpoints. Before each AdamW update it looks at
/// the step's loss and gradient norm:
/// <list type="bullet">
/// <item>non-finite loss or gradient norm: the update is skipped (as PyTorch's GradScaler skips an overflowing
/// step), counted and printed; <see cref="MaxBadSteps"/> such steps in a row stop the run;</item>
/// <item>a loss spike — the loss above <see cref="SpikeFactor"/> × the median of the last
/// <see cref="SpikeWindow"/> accepted losses (at least one, taken from the run's loss log, so a resumed run
/// judges exactly as the uninterrupted one) — skips the update and stops the run at once: the weights that
/// produced it are already damaged.</item>
/// </list>
/// While the last step was skipped no checkpoint is written (the loop postpones the save), and a stop never
/// saves, so the newest checkpoint on disk is the last good one. Under --dtype fp16 the <see cref="GradScaler"/>
/// handles its own overflow: a step it skips for inf/NaN scaled gradients with a finite loss never reaches the guard;
/// a non-finite loss (the forward is unscaled) still does.
/// </summary>
public sealed class DivergenceGuard
{
    /// <summary>Default of <c>--max-bad-steps</c>.</summary>
    public const int DefaultMaxBadSteps = 5;
    /// <summary>Default of <c>--loss-spike</c>.</summary>
    public const double DefaultSpikeFactor = 3.0;
    /// <summary>Accepted losses the spike median looks back over.</summary>
    public const int SpikeWindow = 50;

    private readonly IReadOnlyList<float> _losses; // the run's loss log (skipped steps appear as their non-finite or spiking loss)

    /// <summary>Consecutive skipped updates that stop the run.</summary>
    public int MaxBadSteps { get; }
    /// <summary>Spike threshold factor over the recent median (0 = no spike check).</summary>
    public double SpikeFactor { get; }
    /// <summary>Skipped updates so far in this process.</summary>
    public long SkippedSteps { get; private set; }
    /// <summary>Skipped updates in a row, up to the last step.</summary>
    public int ConsecutiveBad { get; private set; }
    /// <summary>True when the last step's update was applied.</summary>
    public bool LastAccepted => ConsecutiveBad == 0;
    /// <summary>Why the run must stop, once it must; null otherwise.</summary>
    public string? StopReason { get; private set; }

    /// <summary>A guard over <paramref name="lossLog"/>, the loss of every step taken so far (before the current one).</summary>
    public DivergenceGuard(IReadOnlyList<float> lossLog, int maxBadSteps = DefaultMaxBadSteps, double spikeFactor = DefaultSpikeFactor)
    {
        if (maxBadSteps < 1) throw new ArgumentException("--max-bad-steps must be at least 1");
        if (spikeFactor < 0 || !double.IsFinite(spikeFactor) || (spikeFactor > 0 && spikeFactor <= 1))
            throw new ArgumentException("--loss-spike must be 0 (off) or a factor above 1");
        _losses = lossLog; MaxBadSteps = maxBadSteps; SpikeFactor = spikeFactor;
    }

    /// <summary>
    /// Judges step <paramref name="step"/> (call before its update, while the loss log holds the steps before it):
    /// true = apply the update; false = skip it (a message says why; <see cref="StopReason"/> is set when the run must stop).
    /// </summary>
    public bool Check(long step, float loss, double gradNorm, out string? message)
    {
        message = null;
        if (!float.IsFinite(loss) || !double.IsFinite(gradNorm))
        {
            SkippedSteps++; ConsecutiveBad++;
            message = $"step {step}: {(float.IsFinite(loss) ? $"grad-norm {gradNorm}" : $"loss {loss}")} is not finite: update skipped ({ConsecutiveBad} in a row, {SkippedSteps} in all; --max-bad-steps {MaxBadSteps})";
            if (ConsecutiveBad >= MaxBadSteps)
                StopReason = $"{ConsecutiveBad} consecutive steps with a non-finite loss or gradient norm (--max-bad-steps {MaxBadSteps})";
            return false;
        }
        if (SpikeFactor > 0 && RecentMedian() is { } median && loss > SpikeFactor * median)
        {
            SkippedSteps++; ConsecutiveBad++;
            message = $"step {step}: loss {loss:G6} is more than {SpikeFactor:G} x the median {median:G6} of the recent steps: update skipped";
            StopReason = $"loss spike at step {step} (loss {loss:G6} > {SpikeFactor:G} x recent median {median:G6}; --loss-spike)";
            return false;
        }
        ConsecutiveBad = 0;
        return true;
    }

    /// <summary>True when <paramref name="loss"/> would count as a spike against the loss log as it stands (nothing is counted).</summary>
    public bool IsSpike(float loss) => SpikeFactor > 0 && RecentMedian() is { } median && loss > SpikeFactor * median;

    // Median of the last SpikeWindow finite losses of the log; null before the first.
    private double? RecentMedian()
    {
        var recent = new List<float>(SpikeWindow);
        for (int i = _losses.Count - 1; i >= 0 && recent.Count < SpikeWindow; i--)
            if (float.IsFinite(_losses[i])) recent.Add(_losses[i]);
        if (recent.Count == 0) return null;
        recent.Sort();
        int n = recent.Count;
        return n % 2 == 1 ? recent[n / 2] : 0.5 * ((double)recent[n / 2 - 1] + recent[n / 2]);
    }

    /// <summary>
    /// Null when every value of the weights and both AdamW moments is finite, else a sentence naming the first
    /// buffer and element that is not: a checkpoint holding it would be one nobody can resume from.
    /// </summary>
    public static string? NonFinite(ReadOnlySpan<float> weights, ReadOnlySpan<float> m, ReadOnlySpan<float> v)
    {
        static int First(ReadOnlySpan<float> s)
        {
            for (int i = 0; i < s.Length; i++) if (!float.IsFinite(s[i])) return i;
            return -1;
        }
        int i;
        if ((i = First(weights)) >= 0) return $"weight element {i} is {weights[i]}";
        if ((i = First(m)) >= 0) return $"AdamW first moment element {i} is {m[i]}";
        if ((i = First(v)) >= 0) return $"AdamW second moment element {i} is {v[i]}";
        return null;
    }
}

/// <summary>The run diverged (see <see cref="DivergenceGuard"/>); the checkpoints on disk are the last good ones.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Builds it with the reason.</summary>
    public TrainingDivergedException(string reason) : base(reason) { }
}

namespace Minimind.Plots;

/// <summary>The smoothed loss line: a trailing mean over a window that grows with the run (2% of its points, at least 2).</summary>
public static class Smoothing
{
    /// <summary>The window for <paramref name="points"/> points: max(2, points / 50).</summary>
    public static int Window(int points) => Math.Max(2, points / 50);

    /// <summary>
    /// Mean of the last <paramref name="window"/> finite values at each index (fewer at the start); non-finite
    /// values are skipped (NaN while the window holds none).
    /// </summary>
    public static double[] TrailingMean(IReadOnlyList<double> ys, int window)
    {
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), "the smoothing window must be at least 1");
        var r = new double[ys.Count];
        var q = new Queue<double>();
        double sum = 0;
        for (int i = 0; i < ys.Count; i++)
        {
            if (double.IsFinite(ys[i])) { q.Enqueue(ys[i]); sum += ys[i]; }
            while (q.Count > window) sum -= q.Dequeue();
            r[i] = q.Count > 0 ? sum / q.Count : double.NaN;
        }
        return r;
    }
}

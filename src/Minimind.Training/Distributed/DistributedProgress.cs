using System.Diagnostics;

namespace Minimind.Training.Distributed;

/// <summary>What rank 0's progress line adds in a multi-rank run: world size, per-rank throughput, communication share.</summary>
public static class DistributedProgress
{
    /// <summary>A suffix for <see cref="TrainProgress.Suffix"/>, measuring from now.</summary>
    public static Func<double, string> Suffix(DataParallel dp)
    {
        var sw = Stopwatch.StartNew();
        var comm0 = dp.CommTime;
        return tps =>
        {
            double share = (dp.CommTime - comm0).TotalSeconds / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
            return $" | W={dp.WorldSize} {tps / dp.WorldSize:F0} tok/s/rank comm {share:P0}";
        };
    }
}

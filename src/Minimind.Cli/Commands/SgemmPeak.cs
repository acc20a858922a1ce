using System.Diagnostics;
using Minimind.Kernels;

namespace Minimind.Cli.Commands;

/// <summary>
/// The backend's SGEMM throughput measured on the spot, the yardstick for model-FLOPs utilisation: y = x·wᵀ at
/// 2048×2048×1024 (large enough to run at the kernel's speed, small enough to take about a second on two cores), best
/// of three calls after a warm-up. Measured in the same process and moment as the run it is compared with, so a busy
/// machine lowers both.
/// </summary>
public static class SgemmPeak
{
    private const int M = 2048, N = 2048, K = 1024;

    /// <summary>Best GFLOP/s of <see cref="IBackend.MatMul"/> at 2048×2048×1024 on <paramref name="backend"/>.</summary>
    public static double Measure(IBackend backend)
    {
        var x = backend.Alloc((long)M * K); var w = backend.Alloc((long)N * K); var y = backend.Alloc((long)M * N);
        double best = double.MaxValue;
        try
        {
            backend.Fill(x, 0.5f);
            backend.Fill(w, 0.25f);
            for (int r = 0; r < 4; r++)
            {
                var sw = Stopwatch.StartNew();
                backend.MatMul(y, x, w, new GemmShape(M, N, K));
                backend.Synchronize();
                if (r > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
        }
        finally { x.Buffer.Dispose(); w.Buffer.Dispose(); y.Buffer.Dispose(); }
        return 2.0 * M * N * K / best / 1e9;
    }
}

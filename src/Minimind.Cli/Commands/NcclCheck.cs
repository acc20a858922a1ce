using System.Diagnostics;
using System.Globalization;
using Minimind.Kernels;
using Minimind.Kernels.Distributed;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Cli.Commands;

/// <summary>
/// <c>minimind kernels nccl</c>: checks the NCCL binding (unique id over MPI, one GPU per local rank, ILGPU
/// device pointers and stream) with an exact all-reduce of small integers, then times a large all-reduce.
/// Runs alone (world size 1, still through NCCL) or under <c>mpirun -np W</c>.
/// </summary>
public static class NcclCheck
{
    /// <summary>Runs the check; exit code 1 when a reduced value is wrong.</summary>
    public static int Run(double mb, int iters)
    {
        using var comm = MpiCommunicator.FromEnvironment(TimeSpan.FromSeconds(120));
        var log = comm.Rank == 0 ? Console.Out : TextWriter.Null;
        using var backend = IlgpuBackend.CreateCuda(comm.LocalRank);
        using var nccl = NcclCommunicator.Create(comm, backend);
        int w = comm.Size;
        log.WriteLine($"NCCL {nccl.Library.Version} ({nccl.Library.LoadedName}); world size {w}; rank 0 on {BackendFactory.Describe(backend)}");

        // Small integers times (rank + 1): every partial sum is exact in float32, whatever order NCCL picks.
        int n = (1 << 20) + 3;
        var host = new float[n];
        for (int i = 0; i < n; i++) host[i] = (comm.Rank + 1) * (i % 1001);
        var t = backend.Alloc(n);
        backend.Upload(t, host);
        nccl.AllReduceSum(t);
        backend.Synchronize();
        backend.Download(t, host);
        float f = w * (w + 1) / 2f;
        int bad = 0;
        for (int i = 0; i < n; i++) if (host[i] != f * (i % 1001)) bad++;
        t.Buffer.Dispose();
        log.WriteLine(bad == 0 ? $"all-reduce of {n:N0} floats: exact on rank 0" : $"FAIL: {bad} of {n} reduced values are wrong on rank {comm.Rank}");

        long count = (long)(mb * 1e6 / 4);
        var big = backend.Alloc(count);
        for (int k = 0; k < 2; k++) nccl.AllReduceSum(big);
        backend.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int k = 0; k < iters; k++) nccl.AllReduceSum(big);
        backend.Synchronize();
        double s = sw.Elapsed.TotalSeconds / iters, bytes = count * 4.0;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"all-reduce {bytes / 1e6:F0} MB: {s * 1e3:F2} ms, algorithm bandwidth {bytes / s / 1e9:F1} GB/s, bus bandwidth {bytes / s / 1e9 * 2 * (w - 1) / Math.Max(w, 1):F1} GB/s"));
        big.Buffer.Dispose();
        return bad == 0 ? 0 : 1;
    }
}

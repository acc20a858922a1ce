namespace Minimind.Kernels.Cpu;

/// <summary>
/// Splits [0, n) into at most <see cref="Threads"/> contiguous chunks and runs them in parallel.
/// Every op computes each output element inside one chunk with a fixed reduction order, so the
/// result bits never depend on the chunking, the thread count or the timing.
/// </summary>
internal sealed class WorkPartition
{
    private readonly ParallelOptions _options;

    /// <summary>Worker count (1 runs everything on the calling thread).</summary>
    public int Threads { get; }

    private long _regions;

    /// <summary>Parallel regions started so far (calls that handed work to other threads); each costs a dispatch and a join.</summary>
    public long Regions => Volatile.Read(ref _regions);

    public WorkPartition(int threads)
    {
        Threads = threads <= 0 ? Environment.ProcessorCount : threads;
        _options = new ParallelOptions { MaxDegreeOfParallelism = Threads };
    }

    /// <summary>Runs body(start, end) over chunks of at least <paramref name="grain"/> items.</summary>
    public void For(long n, long grain, Action<long, long> body)
    {
        if (n <= 0) return;
        long chunks = Math.Min(Threads, (n + grain - 1) / Math.Max(1, grain));
        if (chunks <= 1) { body(0, n); return; }
        Interlocked.Increment(ref _regions);
        Parallel.For(0, (int)chunks, _options, c => body(n * c / chunks, n * (c + 1) / chunks));
    }

    /// <summary>Runs body(i) for every i in [0, n), distributing indices dynamically (each i is independent).</summary>
    public void ForEach(int n, Action<int> body)
    {
        if (n <= 0) return;
        if (Threads == 1 || n == 1) { for (int i = 0; i < n; i++) body(i); return; }
        Interlocked.Increment(ref _regions);
        Parallel.For(0, n, _options, body);
    }
}

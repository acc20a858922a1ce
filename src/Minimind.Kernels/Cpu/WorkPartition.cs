using System.Diagnostics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Splits [0, n) into at most <see cref="Threads"/> contiguous chunks and runs them in parallel.
/// Every op computes each output element inside one chunk with a fixed reduction order, so the
/// result bits never depend on the chunking, the thread count or the timing.
/// Regions run on this partition's own <see cref="Threads"/> − 1 workers plus the caller. A worker keeps polling for the
/// next region for <see cref="SpinMicroseconds"/> after one ends, as OpenMP's and OpenBLAS's workers do: a training step is
/// thousands of back-to-back regions, and waking a sleeping thread-pool thread for each cost ~0.1 ms (T256: 7 % of a step).
/// Past that it sleeps, and after <see cref="IdleExit"/> asleep it ends (the next region starts it again), so an idle
/// backend holds no CPU and no threads. A region started while another is running on this partition (nested, or from
/// another thread) runs on the .NET thread pool instead.
/// </summary>
internal sealed class WorkPartition
{
    /// <summary>How long a worker polls for the next region before it sleeps: 500 µs, or the environment's
    /// <c>MINIMIND_CPU_SPIN_US</c> (0 sleeps at once, for a machine shared with other work).</summary>
    internal static readonly int SpinMicroseconds =
        int.TryParse(Environment.GetEnvironmentVariable("MINIMIND_CPU_SPIN_US"), out int us) && us >= 0 ? us : 500;
    /// <summary>How long a sleeping worker waits for a region before its thread ends.</summary>
    internal static readonly TimeSpan IdleExit = TimeSpan.FromSeconds(2);

    private readonly ParallelOptions _options;
    private readonly Worker?[] _workers;
    private Region? _region;
    private int _busy;

    /// <summary>Worker count (1 runs everything on the calling thread).</summary>
    public int Threads { get; }

    private long _regions;

    /// <summary>Parallel regions started so far (calls that handed work to other threads); each costs a dispatch and a join.</summary>
    public long Regions => Volatile.Read(ref _regions);

    /// <summary>Worker threads running now (polling, asleep or in a region), for tests.</summary>
    internal int LiveWorkers => _workers.Count(w => w is not null && w.Live);

    public WorkPartition(int threads)
    {
        Threads = threads <= 0 ? Environment.ProcessorCount : threads;
        _options = new ParallelOptions { MaxDegreeOfParallelism = Threads };
        _workers = new Worker?[Threads - 1];
    }

    /// <summary>Runs body(start, end) over chunks of at least <paramref name="grain"/> items.</summary>
    public void For(long n, long grain, Action<long, long> body)
    {
        if (n <= 0) return;
        long chunks = Math.Min(Threads, (n + grain - 1) / Math.Max(1, grain));
        if (chunks <= 1) { body(0, n); return; }
        Run((int)chunks, c => body(n * c / chunks, n * (c + 1) / chunks));
    }

    /// <summary>Runs body(i) for every i in [0, n), distributing indices dynamically (each i is independent).</summary>
    public void ForEach(int n, Action<int> body)
    {
        if (n <= 0) return;
        if (Threads == 1 || n == 1) { for (int i = 0; i < n; i++) body(i); return; }
        Run(n, body);
    }

    // body(i) for i in [0, n) on the workers and the caller, each index claimed once; returns when all have run.
    private void Run(int n, Action<int> body)
    {
        Interlocked.Increment(ref _regions);
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            Parallel.For(0, n, _options, body);
            return;
        }
        try
        {
            var region = new Region(n, body);
            Volatile.Write(ref _region, region);
            for (int w = 0; w < _workers.Length && w < n - 1; w++)
            {
                var worker = _workers[w];
                if (worker is null || !worker.Wake()) _workers[w] = Worker.Start(this);
            }
            region.Participate();
            region.Join();
            region.ThrowIfFailed();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>One parallel region: indices handed out from a counter; the participant that finishes the last one releases the caller.</summary>
    private sealed class Region(int n, Action<int> body)
    {
        private readonly int _n = n;
        private int _next, _pending = n, _failed;
        private readonly ManualResetEventSlim _done = new(false, spinCount: 0);
        private List<Exception>? _errors;

        /// <summary>Claims and runs indices until none are left. After a failure the rest are claimed but skipped, so the
        /// count of unfinished indices still reaches zero.</summary>
        public void Participate()
        {
            for (int i = Interlocked.Increment(ref _next) - 1; i < _n; i = Interlocked.Increment(ref _next) - 1)
            {
                if (Volatile.Read(ref _failed) == 0)
                {
                    try { body(i); }
                    catch (Exception e)
                    {
                        lock (this) (_errors ??= []).Add(e);
                        Volatile.Write(ref _failed, 1);
                    }
                }
                if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
            }
        }

        /// <summary>Waits until every index has run: polls (the other participants are usually finishing their last chunk), then sleeps.</summary>
        public void Join()
        {
            long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) != 0)
            {
                if (Stopwatch.GetTimestamp() > until) { _done.Wait(); break; }
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        /// <summary>The exceptions the body threw, as <see cref="Parallel.For(int, int, Action{int})"/> reports them.</summary>
        public void ThrowIfFailed()
        {
            if (_errors is not null) throw new AggregateException(_errors);
        }
    }

    /// <summary>A background thread that takes part in each new region of its partition.</summary>
    private sealed class Worker
    {
        private const int Awake = 0, Asleep = 1, Gone = 2;
        private readonly WorkPartition _owner;
        private readonly SemaphoreSlim _wake = new(0);
        private int _state;

        private Worker(WorkPartition owner) => _owner = owner;

        /// <summary>A new worker, started: it joins the region now published.</summary>
        public static Worker Start(WorkPartition owner)
        {
            var w = new Worker(owner);
            new Thread(w.Loop) { IsBackground = true, Name = "minimind cpu worker" }.Start();
            return w;
        }

        /// <summary>False once the thread has ended.</summary>
        public bool Live => Volatile.Read(ref _state) != Gone;

        /// <summary>Makes sure the worker sees the region just published; false when its thread has ended.</summary>
        public bool Wake()
        {
            int state = Volatile.Read(ref _state);
            if (state == Asleep && Interlocked.CompareExchange(ref _state, Awake, Asleep) == Asleep) { _wake.Release(); return true; }
            // Awake: it polls and will see the region. Asleep a moment ago but changed since: it woke itself or ended.
            return Volatile.Read(ref _state) != Gone;
        }

        private void Loop()
        {
            Region? seen = null;
            while (true)
            {
                var region = Volatile.Read(ref _owner._region);
                if (region != seen) { seen = region; region!.Participate(); continue; }
                if (Poll(seen)) continue;
                Volatile.Write(ref _state, Asleep);
                // A region published between the poll and the write: wake up ourselves, unless the caller already did
                // (then its release must be consumed).
                if (Volatile.Read(ref _owner._region) != seen)
                {
                    if (Interlocked.CompareExchange(ref _state, Awake, Asleep) != Asleep) _wake.Wait();
                    continue;
                }
                if (_wake.Wait(IdleExit)) continue;
                if (Interlocked.CompareExchange(ref _state, Gone, Asleep) == Asleep) return;
                _wake.Wait();
            }
        }

        // Polls for a region other than seen for SpinMicroseconds; true when one came.
        private bool Poll(Region? seen)
        {
            long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            var spin = new SpinWait();
            while (Stopwatch.GetTimestamp() < until)
            {
                if (Volatile.Read(ref _owner._region) != seen) return true;
                spin.SpinOnce(sleep1Threshold: -1);
            }
            return false;
        }
    }
}

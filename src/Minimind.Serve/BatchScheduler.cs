using System.Collections.Concurrent;
using Minimind.Model.Generation;

namespace Minimind.Serve;

/// <summary>
/// Continuous batching over one <see cref="RolloutEngine"/>: a single thread owns the engine and loops — drop the jobs
/// that were cancelled, admit queued jobs while the engine has a free slot and their worst-case KV pages (each admission
/// prefills that prompt), then one <see cref="RolloutEngine.Step"/> for every running sequence, handing each job its
/// token. Requests therefore join and leave the running batch between decode steps, and because the engine is batch
/// invariant (a sequence's bits do not depend on its neighbours) and every job samples from its own seeded stream, a
/// request's reply does not depend on what else is being served.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly RolloutEngine _engine;
    private readonly int _maxQueue;
    private readonly ConcurrentQueue<GenerationJob> _queue = new();
    private readonly Dictionary<int, GenerationJob> _running = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private volatile bool _draining, _exit;
    private int _queued;

    /// <summary>Starts the batching thread over <paramref name="engine"/>; at most <paramref name="maxQueue"/> requests wait
    /// for a slot (more are refused with 429).</summary>
    public BatchScheduler(RolloutEngine engine, int maxQueue)
    {
        _engine = engine;
        _maxQueue = maxQueue;
        _thread = new Thread(Loop) { IsBackground = true, Name = "minimind batching" };
        _thread.Start();
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int Queued => Volatile.Read(ref _queued);
    /// <summary>Sequences being generated (read from another thread: a snapshot).</summary>
    public int Running { get; private set; }
    /// <summary>Most sequences generated at once.</summary>
    public int MaxBatch => _engine.MaxSequences;
    /// <summary>The engine's context (prompt + reply tokens).</summary>
    public int Context => _engine.Context;

    /// <summary>Queues a request. Throws <see cref="ApiException"/> 429 when the queue is full, 503 once draining.</summary>
    public GenerationJob Submit(GenerationRequest request)
    {
        if (_draining) throw new ApiException(503, "the server is shutting down and takes no new requests", "server_error", code: "shutting_down");
        if (Interlocked.Increment(ref _queued) > _maxQueue)
        {
            Interlocked.Decrement(ref _queued);
            throw new ApiException(429, $"too many requests: {_maxQueue} are already waiting for one of the {_engine.MaxSequences} generation slots; retry later",
                "rate_limit_error", code: "rate_limit_exceeded");
        }
        var job = new GenerationJob(request, _ => _wake.Release());
        _queue.Enqueue(job);
        _wake.Release();
        return job;
    }

    /// <summary>Stops taking new requests (503); the queued and running ones are still served.</summary>
    public void BeginDrain() => _draining = true;

    private void Loop()
    {
        while (!_exit)
        {
            try
            {
                DropCancelled();
                Admit();
                Running = _running.Count;
                if (_running.Count == 0) { _wake.Wait(); continue; }
                var events = _engine.Step();
                foreach (var e in events)
                {
                    var job = _running[e.Sequence];
                    job.Writer.TryWrite(e);
                    if (e.Finish != FinishReason.None) Finish(e.Sequence, null);
                }
            }
            catch (Exception e)
            {
                // A failed step (a backend error) fails every running request with the cause; the server goes on.
                Console.Error.WriteLine($"serve: generation failed: {e.Message}");
                foreach (int id in _running.Keys.ToList()) Finish(id, e);
            }
        }
    }

    private void DropCancelled()
    {
        foreach (var (id, job) in _running.ToList())
            if (job.IsCancelled) Finish(id, null);
    }

    // Admits queued jobs in arrival order while the engine can take the one at the head.
    private void Admit()
    {
        while (_queue.TryPeek(out var job))
        {
            if (job.IsCancelled) { Dequeue(); job.Writer.TryComplete(); continue; }
            var r = job.Request;
            if (!_engine.CanAdd(r.Prompt.Length, Math.Min(r.MaxNewTokens, _engine.Context), r.PositionOffset)) return;
            Dequeue();
            try { _running[_engine.Add(r)] = job; }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { job.Writer.TryComplete(e); }
        }
    }

    private void Dequeue()
    {
        _queue.TryDequeue(out _);
        Interlocked.Decrement(ref _queued);
    }

    private void Finish(int id, Exception? error)
    {
        var job = _running[id];
        _running.Remove(id);
        _engine.Release(id);
        job.Writer.TryComplete(error);
    }

    /// <summary>Stops the batching thread (after the server drained) and fails whatever was still queued.</summary>
    public void Dispose()
    {
        _exit = true;
        _wake.Release();
        _thread.Join();
        while (_queue.TryDequeue(out var job)) job.Writer.TryComplete(new OperationCanceledException("the server stopped"));
        foreach (var job in _running.Values) job.Writer.TryComplete(new OperationCanceledException("the server stopped"));
        _wake.Dispose();
    }
}

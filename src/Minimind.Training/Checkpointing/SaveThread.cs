using System.Collections.Concurrent;
using System.Diagnostics;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// The one thread that writes checkpoints for --async-save while training goes on. It runs one write at a time, in
/// the order given; the <see cref="Checkpointer"/> hands it a write only after collecting the previous one, since the
/// snapshot buffers are reused. It never touches the device, the communicator or the console: it reads a host snapshot
/// and writes files, and its outcome (the seconds it took, or the exception) is collected on the training thread.
/// </summary>
internal sealed class SaveThread : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = new(boundedCapacity: 1);
    private readonly Thread _thread;

    /// <summary>Starts the thread (a background thread: a process that exits without <see cref="Dispose"/> does not wait for it).</summary>
    public SaveThread()
    {
        _thread = new Thread(() => { foreach (var job in _jobs.GetConsumingEnumerable()) job(); })
        {
            IsBackground = true, Name = "checkpoint writer",
        };
        _thread.Start();
    }

    /// <summary>Queues <paramref name="write"/>; the task ends with the seconds it ran, or with its exception.</summary>
    public Task<double> Run(Action write)
    {
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        _jobs.Add(() =>
        {
            var sw = Stopwatch.StartNew();
            try { write(); done.SetResult(sw.Elapsed.TotalSeconds); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task;
    }

    /// <summary>Lets the queued write finish, then ends the thread.</summary>
    public void Dispose()
    {
        _jobs.CompleteAdding();
        _thread.Join();
        _jobs.Dispose();
    }
}

using System.Runtime.InteropServices;

namespace Minimind.Training;

/// <summary>
/// Ctrl+C / SIGTERM handling for a training run: the first signal asks the loop to finish the current
/// optimizer step, write a checkpoint and exit 0; a second one exits at once (code 130). Exiting
/// mid-write is safe because resume-state folders are committed by rename: the last good one stays.
/// </summary>
public sealed class StopSignal : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = new();
    private readonly TextWriter _log;
    private int _count;

    /// <summary>Registers SIGINT and SIGTERM handlers; messages go to <paramref name="log"/>.</summary>
    public StopSignal(TextWriter log)
    {
        _log = log;
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle));
    }

    /// <summary>True once a stop was requested.</summary>
    public bool StopRequested => Volatile.Read(ref _count) > 0;

    /// <summary>Asks the loop to stop as a signal would (used by --max-steps-like callers and tests).</summary>
    public void Request() => Interlocked.Increment(ref _count);

    private void Handle(PosixSignalContext ctx)
    {
        ctx.Cancel = true;
        int n = Interlocked.Increment(ref _count);
        if (n == 1)
        {
            _log.WriteLine();
            _log.WriteLine($"{ctx.Signal}: finishing the current step and writing a checkpoint (press Ctrl+C again to quit at once)...");
            _log.Flush();
        }
        else
        {
            _log.WriteLine();
            _log.WriteLine($"{ctx.Signal} again: exiting now; the last completed checkpoint is untouched.");
            _log.Flush();
            Environment.Exit(130);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _registrations.Clear();
    }
}

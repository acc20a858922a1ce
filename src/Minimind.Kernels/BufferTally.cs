namespace Minimind.Kernels;

/// <summary>
/// The bytes a backend's buffers hold: what is allocated and not yet disposed now, and the most it has been (the
/// high-water mark, as torch.cuda.max_memory_allocated). Each backend owns one and its buffer allocation path is the
/// only caller of <see cref="Allocated"/> and <see cref="Freed"/>, so every <see cref="IBackend.Alloc"/>,
/// <see cref="IBackend.AllocInt"/> and backend scratch buffer is counted once. A buffer that is dropped without
/// <see cref="IDisposable.Dispose"/> stays counted: on a device it would stay allocated until its finalizer ran.
/// </summary>
public sealed class BufferTally
{
    private long _live, _peak;

    /// <summary>Bytes of the buffers allocated and not disposed.</summary>
    public long LiveBytes => Interlocked.Read(ref _live);

    /// <summary>The most <see cref="LiveBytes"/> has been since the backend was created or <see cref="ResetPeak"/>.</summary>
    public long PeakBytes => Interlocked.Read(ref _peak);

    /// <summary>Starts a new high-water mark at what is live now (torch.cuda.reset_peak_memory_stats).</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peak, LiveBytes);

    /// <summary>A buffer of <paramref name="bytes"/> was allocated.</summary>
    public void Allocated(long bytes)
    {
        long now = Interlocked.Add(ref _live, bytes);
        // Lock-free max: retry while another thread moved the mark below `now`.
        for (long seen = Interlocked.Read(ref _peak); now > seen; seen = Interlocked.Read(ref _peak))
            if (Interlocked.CompareExchange(ref _peak, now, seen) == seen) break;
    }

    /// <summary>A buffer of <paramref name="bytes"/> was released (called once per buffer).</summary>
    public void Freed(long bytes) => Interlocked.Add(ref _live, -bytes);
}

using System.Runtime.CompilerServices;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// A buffer of the CPU backend (float32 for tensors, int32 for token ids): a managed array, zero-filled on allocation,
/// with a write counter. Every way into the array that can write it (each op's outputs, uploads, copies, fills, host
/// views) goes through <see cref="CpuOps.Arr(Tensor)"/> or <see cref="CpuOps.Span(Tensor)"/>, which advance
/// <see cref="Version"/> before handing the array out; read-only inputs take <see cref="CpuOps.In(Tensor)"/>. A copy
/// derived from the values (the packed SGEMM panels of <see cref="PackedWeights"/>) is therefore valid exactly while the
/// version it was made at is still the buffer's.
/// </summary>
public sealed class CpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    // The elements: internal so that nothing outside the backend can write them without passing the counter.
    internal readonly T[] Data;
    private long _version;
    private readonly BufferTally _tally;
    private int _disposed;

    /// <summary>Allocates <paramref name="length"/> zeroed elements, counted in <paramref name="tally"/> until disposed.</summary>
    internal CpuBuffer(long length, BufferTally tally)
    {
        if (length < 0 || length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), $"CPU buffer of {length} {typeof(T).Name} elements: must be in [0, {Array.MaxLength}]");
        Data = new T[length];
        _tally = tally;
        tally.Allocated(length * Unsafe.SizeOf<T>());
    }

    /// <inheritdoc/>
    public long Length => Data.LongLength;

    /// <summary>How many times write access to the elements has been handed out (uploads, op outputs, host views).</summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>The packed matmul panels kept for this buffer's weights, or null while none are kept
    /// (<see cref="IBackend.KeepWeights"/> turns them on).</summary>
    internal PackedWeights? Packed { get; set; }

    // Called before write access is handed out: a derived copy made at an older version is never used again.
    internal void Written() => Interlocked.Increment(ref _version);

    /// <summary>Drops the packed panels and takes the array out of the backend's <see cref="BufferTally"/>; the GC frees
    /// it once unreferenced.</summary>
    public void Dispose()
    {
        Packed = null;
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _tally.Freed(Data.LongLength * Unsafe.SizeOf<T>());
    }
}

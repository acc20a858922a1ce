using System.Runtime.CompilerServices;

namespace Minimind.Kernels.Cpu;

/// <summary>A buffer of the CPU backend (float32 for tensors, int32 for token ids): a managed array, zero-filled on allocation.</summary>
public sealed class CpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    private readonly BufferTally _tally;
    private int _disposed;

    /// <summary>The elements.</summary>
    public readonly T[] Data;

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

    /// <summary>Takes the array out of the backend's <see cref="BufferTally"/>; the GC frees it once unreferenced.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _tally.Freed(Data.LongLength * Unsafe.SizeOf<T>());
    }
}

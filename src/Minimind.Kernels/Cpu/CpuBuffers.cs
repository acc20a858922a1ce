namespace Minimind.Kernels.Cpu;

/// <summary>A buffer of the CPU backend (float32 for tensors, int32 for token ids): a managed array, zero-filled on allocation.</summary>
public sealed class CpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    /// <summary>The elements.</summary>
    public readonly T[] Data;

    /// <summary>Allocates <paramref name="length"/> zeroed elements.</summary>
    public CpuBuffer(long length)
    {
        if (length < 0 || length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), $"CPU buffer of {length} {typeof(T).Name} elements: must be in [0, {Array.MaxLength}]");
        Data = new T[length];
    }

    /// <inheritdoc/>
    public long Length => Data.LongLength;

    /// <summary>Nothing to release: the GC owns the array.</summary>
    public void Dispose() { }
}

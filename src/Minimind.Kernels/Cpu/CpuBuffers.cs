namespace Minimind.Kernels.Cpu;

/// <summary>A float32 buffer of the CPU backend: a managed array (zero-filled on allocation).</summary>
public sealed class CpuFloatBuffer : IDeviceBuffer
{
    /// <summary>The elements.</summary>
    public readonly float[] Data;

    /// <summary>Allocates <paramref name="length"/> zeroed elements.</summary>
    public CpuFloatBuffer(long length)
    {
        if (length < 0 || length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), $"CPU buffer of {length} floats: must be in [0, {Array.MaxLength}]");
        Data = new float[length];
    }

    /// <inheritdoc/>
    public long Length => Data.LongLength;

    /// <summary>Nothing to release: the GC owns the array.</summary>
    public void Dispose() { }
}

/// <summary>An int32 buffer of the CPU backend: a managed array (zero-filled on allocation).</summary>
public sealed class CpuIntBuffer : IDeviceBuffer
{
    /// <summary>The elements.</summary>
    public readonly int[] Data;

    /// <summary>Allocates <paramref name="length"/> zeroed elements.</summary>
    public CpuIntBuffer(long length)
    {
        if (length < 0 || length > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(length), $"CPU buffer of {length} ints: must be in [0, {Array.MaxLength}]");
        Data = new int[length];
    }

    /// <inheritdoc/>
    public long Length => Data.LongLength;

    /// <summary>Nothing to release: the GC owns the array.</summary>
    public void Dispose() { }
}

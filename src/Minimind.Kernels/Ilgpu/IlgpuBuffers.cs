using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

/// <summary>A device buffer of <see cref="IlgpuOps"/> (float32 for tensors, int32 for token ids), zero-filled on allocation.</summary>
public sealed class IlgpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    private readonly BufferTally _tally;
    private int _disposed;

    /// <summary>The device memory.</summary>
    public readonly MemoryBuffer1D<T, Stride1D.Dense> Memory;

    internal IlgpuBuffer(Accelerator acc, long length, BufferTally tally)
    {
        Memory = acc.Allocate1D<T>(Math.Max(1, length));
        Memory.MemSetToZero();
        Length = length;
        _tally = tally;
        tally.Allocated(Memory.LengthInBytes);
    }

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>The view [offset, offset + length).</summary>
    public ArrayView<T> View(long offset, long length) => ((ArrayView<T>)Memory.View).SubView(offset, length);

    /// <summary>Frees the device memory (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _tally.Freed(Memory.LengthInBytes);
        Memory.Dispose();
    }
}

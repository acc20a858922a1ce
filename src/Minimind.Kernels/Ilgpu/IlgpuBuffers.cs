using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

/// <summary>A device buffer of <see cref="IlgpuOps"/> (float32 for tensors, int32 for token ids), zero-filled on allocation.</summary>
public sealed class IlgpuBuffer<T> : IDeviceBuffer where T : unmanaged
{
    /// <summary>The device memory.</summary>
    public readonly MemoryBuffer1D<T, Stride1D.Dense> Memory;

    internal IlgpuBuffer(Accelerator acc, long length)
    {
        Memory = acc.Allocate1D<T>(Math.Max(1, length));
        Memory.MemSetToZero();
        Length = length;
    }

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>The view [offset, offset + length).</summary>
    public ArrayView<T> View(long offset, long length) => ((ArrayView<T>)Memory.View).SubView(offset, length);

    /// <summary>Frees the device memory.</summary>
    public void Dispose() => Memory.Dispose();
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

/// <summary>A float32 device buffer of <see cref="IlgpuBackend"/> (zero-filled on allocation).</summary>
public sealed class IlgpuFloatBuffer : IDeviceBuffer
{
    /// <summary>The device memory.</summary>
    public readonly MemoryBuffer1D<float, Stride1D.Dense> Memory;

    internal IlgpuFloatBuffer(Accelerator acc, long length)
    {
        Memory = acc.Allocate1D<float>(Math.Max(1, length));
        Memory.MemSetToZero();
        Length = length;
    }

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>The view [offset, offset + length).</summary>
    public ArrayView<float> View(long offset, long length) => ((ArrayView<float>)Memory.View).SubView(offset, length);

    /// <summary>Frees the device memory.</summary>
    public void Dispose() => Memory.Dispose();
}

/// <summary>An int32 device buffer of <see cref="IlgpuBackend"/> (zero-filled on allocation).</summary>
public sealed class IlgpuIntBuffer : IDeviceBuffer
{
    /// <summary>The device memory.</summary>
    public readonly MemoryBuffer1D<int, Stride1D.Dense> Memory;

    internal IlgpuIntBuffer(Accelerator acc, long length)
    {
        Memory = acc.Allocate1D<int>(Math.Max(1, length));
        Memory.MemSetToZero();
        Length = length;
    }

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>The view [offset, offset + length).</summary>
    public ArrayView<int> View(long offset, long length) => ((ArrayView<int>)Memory.View).SubView(offset, length);

    /// <summary>Frees the device memory.</summary>
    public void Dispose() => Memory.Dispose();
}

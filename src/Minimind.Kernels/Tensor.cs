namespace Minimind.Kernels;

/// <summary>Memory owned by a backend (host arrays for the CPU backend, device memory for ILGPU).</summary>
public interface IDeviceBuffer : IDisposable
{
    /// <summary>Number of elements (float32 or int32, depending on the buffer).</summary>
    long Length { get; }
}

/// <summary>A float32 view: a contiguous range of a backend buffer. Cheap to copy and slice.</summary>
public readonly struct Tensor
{
    /// <summary>The buffer the view points into.</summary>
    public readonly IDeviceBuffer Buffer;
    /// <summary>First element of the view inside <see cref="Buffer"/>.</summary>
    public readonly long Offset;
    /// <summary>Number of elements in the view.</summary>
    public readonly long Length;

    /// <summary>Creates a view; checks that it lies inside the buffer.</summary>
    public Tensor(IDeviceBuffer buffer, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"view [{offset}, {offset + length}) outside buffer of {buffer.Length} elements");
        Buffer = buffer; Offset = offset; Length = length;
    }

    /// <summary>A sub-view starting <paramref name="offset"/> elements into this one.</summary>
    public Tensor Slice(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"slice [{offset}, {offset + length}) outside view of {Length} elements");
        return new Tensor(Buffer, Offset + offset, length);
    }

    /// <summary>True when no buffer is attached (default value).</summary>
    public bool IsEmpty => Buffer is null;
}

/// <summary>An int32 view (token ids, targets, expert indices, permutations).</summary>
public readonly struct IntTensor
{
    /// <summary>The buffer the view points into.</summary>
    public readonly IDeviceBuffer Buffer;
    /// <summary>First element of the view inside <see cref="Buffer"/>.</summary>
    public readonly long Offset;
    /// <summary>Number of elements in the view.</summary>
    public readonly long Length;

    /// <summary>Creates a view; checks that it lies inside the buffer.</summary>
    public IntTensor(IDeviceBuffer buffer, long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > buffer.Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"view [{offset}, {offset + length}) outside buffer of {buffer.Length} elements");
        Buffer = buffer; Offset = offset; Length = length;
    }

    /// <summary>A sub-view starting <paramref name="offset"/> elements into this one.</summary>
    public IntTensor Slice(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"slice [{offset}, {offset + length}) outside view of {Length} elements");
        return new IntTensor(Buffer, Offset + offset, length);
    }

    /// <summary>True when no buffer is attached (default value).</summary>
    public bool IsEmpty => Buffer is null;
}

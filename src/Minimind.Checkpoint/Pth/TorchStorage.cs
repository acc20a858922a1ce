using System.Buffers.Binary;

namespace Minimind.Checkpoint;

/// <summary>
/// One PyTorch storage: untyped bytes identified by a key (<c>data/&lt;key&gt;</c> in the zip).
/// Tensors that share a key share this object, which is how tied weights stay tied. The bytes
/// stay in the file until a tensor is materialised.
/// </summary>
public sealed class TorchStorage
{
    /// <summary>The key in the checkpoint (<c>"0"</c>, <c>"1"</c>, ...); the writer renumbers keys.</summary>
    public string Key { get; }
    /// <summary>The element type the storage was declared with (its storage class).</summary>
    public TorchDType DType { get; }
    /// <summary>Size in bytes.</summary>
    public long ByteLength { get; }
    /// <summary>True when the bytes are big-endian (a file written on a big-endian machine).</summary>
    public bool BigEndian { get; }
    /// <summary>Where the bytes are; null until the legacy reader has located them.</summary>
    internal ByteSource? Source { get; set; }

    /// <summary>Creates a storage over <paramref name="source"/>.</summary>
    public TorchStorage(string key, TorchDType dtype, long byteLength, ByteSource? source, bool bigEndian = false)
    {
        Key = key; DType = dtype; ByteLength = byteLength; Source = source; BigEndian = bigEndian;
    }

    /// <summary>Elements of <see cref="DType"/> it holds.</summary>
    public long ElementCount => ByteLength / DType.ElementSize();

    private ByteSource Src => Source ?? throw new PthFormatException($"storage '{Key}' has no data record");

    /// <summary>Copies bytes [offset, offset+dest.Length) exactly as stored.</summary>
    public void ReadRaw(long offset, Span<byte> dest) => Src.Read(offset, dest);

    /// <summary>The stored bytes as one span when they are in memory; false for file-backed storages.</summary>
    public bool TryGetSpan(long offset, long length, out ReadOnlySpan<byte> span) => Src.TryGetSpan(offset, length, out span);

    /// <summary>
    /// Copies bytes [offset, offset+dest.Length) converted to little-endian for elements of
    /// <paramref name="elementSize"/> bytes.
    /// </summary>
    public void ReadLittleEndian(long offset, Span<byte> dest, int elementSize)
    {
        Src.Read(offset, dest);
        if (BigEndian && elementSize > 1) SwapInPlace(dest, elementSize);
    }

    internal static void SwapInPlace(Span<byte> b, int size)
    {
        for (int i = 0; i + size <= b.Length; i += size) b.Slice(i, size).Reverse();
    }

    internal static ushort ReadU16(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt16LittleEndian(b);
}

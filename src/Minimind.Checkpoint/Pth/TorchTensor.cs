using System.Buffers;
using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>
/// A tensor as PyTorch pickles it: a view (offset, shape, strides, all in elements) into a
/// <see cref="TorchStorage"/>. Nothing is read from the file until <see cref="ToFloat32"/>,
/// <see cref="CopyToFloat32"/>, <see cref="ToInt64"/> or <see cref="ToContiguousBytes"/> is called.
/// </summary>
public sealed class TorchTensor
{
    /// <summary>Largest element count a view may have beyond its storage (stride-0 expands): guards allocation bombs.</summary>
    public const long MaxExpandedElements = 1L << 26;

    private delegate void ChunkHandler(ReadOnlySpan<byte> littleEndianChunk, long firstElement);

    /// <summary>The storage the view points into (shared by tied tensors).</summary>
    public TorchStorage Storage { get; }
    /// <summary>Element type.</summary>
    public TorchDType DType { get; }
    /// <summary>Sizes (empty for a 0-d scalar).</summary>
    public int[] Shape { get; }
    /// <summary>Strides in elements.</summary>
    public long[] Stride { get; }
    /// <summary>First element inside the storage, in elements.</summary>
    public long StorageOffset { get; }
    /// <summary>The storage key (<c>data/&lt;key&gt;</c>).</summary>
    public string StorageKey => Storage.Key;
    /// <summary>Saved requires_grad flag (informational).</summary>
    public bool RequiresGrad { get; }
    /// <summary>Element count (1 for 0-d).</summary>
    public long Numel { get; }

    /// <summary>
    /// Creates a view. Throws <see cref="PthFormatException"/> when a dimension or stride is
    /// negative, the view reaches outside the storage, or an expanded view is absurdly large.
    /// </summary>
    public TorchTensor(TorchStorage storage, TorchDType dtype, long storageOffset, int[] shape, long[] stride, bool requiresGrad = false)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (shape.Length != stride.Length) throw new PthFormatException($"tensor on storage '{storage.Key}': {shape.Length} sizes but {stride.Length} strides");
        if (storageOffset < 0) throw new PthFormatException($"tensor on storage '{storage.Key}': negative storage offset {storageOffset}");
        long numel = 1, last = storageOffset;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0 || stride[i] < 0) throw new PthFormatException($"tensor on storage '{storage.Key}': negative size or stride in {Fmt(shape)} / {Fmt(stride)}");
            if (shape[i] == 0) { numel = 0; continue; }
            // Bound each factor before multiplying so the products cannot overflow.
            if (numel > 0 && shape[i] > long.MaxValue / numel) throw new PthFormatException($"tensor on storage '{storage.Key}': shape {Fmt(shape)} is too large");
            numel *= shape[i];
            if (stride[i] > (long.MaxValue / 4 - last) / Math.Max(1, shape[i] - 1)) throw new PthFormatException($"tensor on storage '{storage.Key}': stride {stride[i]} is too large");
            last += (shape[i] - 1) * stride[i];
        }
        long storageElems = storage.ByteLength / dtype.ElementSize();
        if (numel > 0 && last >= storageElems)
            throw new PthFormatException($"tensor of shape {Fmt(shape)} at offset {storageOffset} with strides {Fmt(stride)} reaches element {last}, outside storage '{storage.Key}' of {storageElems} {dtype.TorchName()} elements");
        if (numel > Math.Max(storageElems, MaxExpandedElements) || numel > Array.MaxLength)
            throw new PthFormatException($"tensor of shape {Fmt(shape)} has {numel} elements but its storage '{storage.Key}' only {storageElems}: refusing the allocation");
        Storage = storage; DType = dtype; StorageOffset = storageOffset; Shape = shape; Stride = stride; RequiresGrad = requiresGrad; Numel = numel;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Bytes of the tensor's own elements (numel × element size).</summary>
    public long ByteLength => Numel * DType.ElementSize();

    /// <summary>Shape as PyTorch prints it, e.g. <c>[6400, 512]</c>.</summary>
    public string ShapeText => Fmt(Shape);

    /// <summary>True when the elements are laid out row-major without gaps (size-1 dims ignored, as torch).</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = Shape.Length - 1; i >= 0; i--)
            {
                if (Shape[i] == 1) continue;
                if (Shape[i] == 0) return true;
                if (Stride[i] != expected) return false;
                expected *= Shape[i];
            }
            return true;
        }
    }

    /// <summary>Row-major strides for <paramref name="shape"/>.</summary>
    public static long[] ContiguousStrides(int[] shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(1, shape[i]); }
        return s;
    }

    /// <summary>A second tensor object over the same storage and view (what a tied state-dict key is).</summary>
    public TorchTensor Alias() => new(Storage, DType, StorageOffset, (int[])Shape.Clone(), (long[])Stride.Clone(), RequiresGrad);

    /// <summary>Materialises the tensor as float32 in row-major order (views resolved, any dtype converted).</summary>
    public float[] ToFloat32()
    {
        var r = new float[Numel];
        CopyToFloat32(r);
        return r;
    }

    /// <summary>Materialises into <paramref name="dest"/> (length must equal <see cref="Numel"/>) without an intermediate copy for contiguous float32.</summary>
    public void CopyToFloat32(Span<float> dest)
    {
        if (dest.Length != Numel) throw new ArgumentException($"destination has {dest.Length} elements, tensor {ShapeText} has {Numel}", nameof(dest));
        if (Numel == 0) return;
        if (IsContiguous) { CopyRangeToFloat32(0, dest); return; }
        var dt = DType;
        unsafe
        {
            // A span cannot be captured by the chunk callback; the pinned address can.
            fixed (float* p = dest)
            {
                nint basePtr = (nint)p;
                ForEachChunk((chunk, first) => BytesToFloat(chunk, dt, new Span<float>((float*)basePtr + first, chunk.Length / dt.ElementSize())));
            }
        }
    }

    /// <summary>
    /// Materialises row-major elements [<paramref name="first"/>, <paramref name="first"/> + dest.Length) of a
    /// contiguous tensor as float32, so one large tensor can be loaded in pieces by several threads.
    /// float32 is read straight from the file into <paramref name="dest"/>; other dtypes go through a pooled 1 MiB buffer.
    /// </summary>
    public void CopyRangeToFloat32(long first, Span<float> dest)
    {
        if (!IsContiguous) throw new InvalidOperationException($"tensor {ShapeText} on storage '{StorageKey}' is a strided view; use CopyToFloat32");
        if (first < 0 || first > Numel - dest.Length) throw new ArgumentOutOfRangeException(nameof(first), $"elements [{first}, {first + dest.Length}) lie outside a tensor of {Numel}");
        if (dest.IsEmpty) return;
        if (DType == TorchDType.F32)
        {
            // The common case: one read straight from the file (page cache) into the result.
            Storage.ReadLittleEndian((StorageOffset + first) * 4, MemoryMarshal.AsBytes(dest), 4);
            return;
        }
        var dt = DType;
        unsafe
        {
            fixed (float* p = dest)
            {
                nint basePtr = (nint)p;
                // 1 MiB chunks: several threads loading pieces together stay far below one copy of a tensor.
                ForEachContiguousChunk(first, dest.Length, 1 << 20,
                    (chunk, at) => BytesToFloat(chunk, dt, new Span<float>((float*)basePtr + at, chunk.Length / dt.ElementSize())));
            }
        }
    }

    /// <summary>Materialises as int64 (integers and bools exactly; floats truncated toward zero).</summary>
    public long[] ToInt64()
    {
        var r = new long[Numel];
        var dt = DType;
        ForEachChunk((chunk, first) => BytesToInt64(chunk, dt, r.AsSpan((int)first, chunk.Length / dt.ElementSize())));
        return r;
    }

    /// <summary>The tensor's elements, row-major, little-endian, in its own dtype (views resolved).</summary>
    public byte[] ToContiguousBytes()
    {
        var r = new byte[ByteLength];
        int es = DType.ElementSize();
        ForEachChunk((chunk, first) => chunk.CopyTo(r.AsSpan((int)(first * es))));
        return r;
    }

    /// <summary>The single value of a one-element tensor as a double.</summary>
    public double Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item() needs a one-element tensor, this one is {ShapeText}");
        return DType == TorchDType.F64 ? BitConverter.ToDouble(ToContiguousBytes()) : DType.IsFloatingPoint() ? ToFloat32()[0] : ToInt64()[0];
    }

    // Streams the tensor's elements as little-endian bytes in row-major order, a bounded chunk at a time
    // for contiguous tensors; a strided view reads its storage range once and gathers from it.
    private void ForEachChunk(ChunkHandler handler)
    {
        if (Numel == 0) return;
        if (IsContiguous) { ForEachContiguousChunk(0, Numel, 1 << 22, handler); return; }
        int es = DType.ElementSize();
        long hi = StorageOffset;
        for (int i = 0; i < Shape.Length; i++) hi += (Shape[i] - 1) * Stride[i];
        long rangeBytes = (hi - StorageOffset + 1) * es;
        var src = new byte[rangeBytes];
        Storage.ReadLittleEndian(StorageOffset * es, src, es);
        var outBuf = new byte[Numel * es];
        var idx = new int[Shape.Length];
        long pos = 0;
        for (long e = 0; e < Numel; e++)
        {
            src.AsSpan((int)(pos * es), es).CopyTo(outBuf.AsSpan((int)(e * es)));
            // Odometer over the multi-index: the last dimension moves fastest.
            for (int dim = Shape.Length - 1; dim >= 0; dim--)
            {
                if (++idx[dim] < Shape[dim]) { pos += Stride[dim]; break; }
                pos -= (long)(Shape[dim] - 1) * Stride[dim];
                idx[dim] = 0;
            }
        }
        handler(outBuf, 0);
    }

    // Streams elements [first, first + count) of a contiguous tensor as little-endian bytes, at most chunkBytes at a
    // time (the handler's element index counts from first); in-memory little-endian storages are handed over whole.
    private void ForEachContiguousChunk(long first, long count, int chunkBytes, ChunkHandler handler)
    {
        int es = DType.ElementSize();
        long bytes = count * es, start = (StorageOffset + first) * es;
        if (!Storage.BigEndian && Storage.TryGetSpan(start, bytes, out var span)) { handler(span, 0); return; }
        int chunk = (int)Math.Min(bytes, chunkBytes - chunkBytes % es);
        var buf = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            for (long done = 0; done < bytes; done += chunk)
            {
                int n = (int)Math.Min(chunk, bytes - done);
                Storage.ReadLittleEndian(start + done, buf.AsSpan(0, n), es);
                handler(buf.AsSpan(0, n), done / es);
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
    }

    /// <summary>Converts little-endian elements of <paramref name="dt"/> to float32.</summary>
    public static void BytesToFloat(ReadOnlySpan<byte> src, TorchDType dt, Span<float> dst)
    {
        switch (dt)
        {
            case TorchDType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case TorchDType.F64: { var s = MemoryMarshal.Cast<byte, double>(src); for (int i = 0; i < s.Length; i++) dst[i] = (float)s[i]; break; }
            case TorchDType.F16: HalfConvert.F16ToFloat(MemoryMarshal.Cast<byte, ushort>(src), dst); break;
            case TorchDType.BF16: HalfConvert.BF16ToFloat(MemoryMarshal.Cast<byte, ushort>(src), dst); break;
            case TorchDType.I64: { var s = MemoryMarshal.Cast<byte, long>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.I32: { var s = MemoryMarshal.Cast<byte, int>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.I16: { var s = MemoryMarshal.Cast<byte, short>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.I8: { var s = MemoryMarshal.Cast<byte, sbyte>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.U8: for (int i = 0; i < src.Length; i++) dst[i] = src[i]; break;
            case TorchDType.Bool: for (int i = 0; i < src.Length; i++) dst[i] = src[i] != 0 ? 1f : 0f; break;
            default: throw new ArgumentOutOfRangeException(nameof(dt));
        }
    }

    private static void BytesToInt64(ReadOnlySpan<byte> src, TorchDType dt, Span<long> dst)
    {
        switch (dt)
        {
            case TorchDType.I64: MemoryMarshal.Cast<byte, long>(src).CopyTo(dst); break;
            case TorchDType.I32: { var s = MemoryMarshal.Cast<byte, int>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.I16: { var s = MemoryMarshal.Cast<byte, short>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.I8: { var s = MemoryMarshal.Cast<byte, sbyte>(src); for (int i = 0; i < s.Length; i++) dst[i] = s[i]; break; }
            case TorchDType.U8: for (int i = 0; i < src.Length; i++) dst[i] = src[i]; break;
            case TorchDType.Bool: for (int i = 0; i < src.Length; i++) dst[i] = src[i] != 0 ? 1 : 0; break;
            case TorchDType.F64: { var s = MemoryMarshal.Cast<byte, double>(src); for (int i = 0; i < s.Length; i++) dst[i] = (long)s[i]; break; }
            default:
                {
                    var f = new float[dst.Length];
                    BytesToFloat(src, dt, f);
                    for (int i = 0; i < f.Length; i++) dst[i] = (long)f[i];
                    break;
                }
        }
    }

    /// <summary>
    /// A new contiguous tensor holding <paramref name="data"/> stored as <paramref name="storeAs"/>
    /// (f32 keeps a reference to the array, no copy: do not change it before it is written;
    /// f16/bf16 round to nearest even as torch does).
    /// </summary>
    public static TorchTensor FromFloat32(float[] data, int[] shape, TorchDType storeAs = TorchDType.F32)
    {
        CheckCount(data.Length, shape);
        ByteSource src = storeAs switch
        {
            TorchDType.F32 => ByteSource.FromArray(data, "float32 tensor"),
            TorchDType.F16 => ByteSource.FromArray(ConvertHalf(data, TorchDType.F16), "float16 tensor"),
            TorchDType.BF16 => ByteSource.FromArray(ConvertHalf(data, TorchDType.BF16), "bfloat16 tensor"),
            TorchDType.F64 => ByteSource.FromArray(Array.ConvertAll(data, x => (double)x), "float64 tensor"),
            _ => throw new ArgumentException($"FromFloat32 stores floats only, not {storeAs.TorchName()}", nameof(storeAs)),
        };
        var st = new TorchStorage("", storeAs, src.Length, src);
        return new TorchTensor(st, storeAs, 0, (int[])shape.Clone(), ContiguousStrides(shape));
    }

    /// <summary>A new contiguous int64 tensor (the array is referenced, not copied).</summary>
    public static TorchTensor FromInt64(long[] data, int[] shape)
    {
        CheckCount(data.Length, shape);
        var src = ByteSource.FromArray(data, "int64 tensor");
        return new TorchTensor(new TorchStorage("", TorchDType.I64, src.Length, src), TorchDType.I64, 0, (int[])shape.Clone(), ContiguousStrides(shape));
    }

    /// <summary>A new contiguous tensor from little-endian bytes of <paramref name="dtype"/> (referenced, not copied).</summary>
    public static TorchTensor FromBytes(byte[] littleEndian, TorchDType dtype, int[] shape)
    {
        if (littleEndian.Length % dtype.ElementSize() != 0) throw new ArgumentException($"{littleEndian.Length} bytes is not a whole number of {dtype.TorchName()} elements");
        CheckCount(littleEndian.Length / dtype.ElementSize(), shape);
        var src = ByteSource.FromArray(littleEndian, dtype.TorchName() + " tensor");
        return new TorchTensor(new TorchStorage("", dtype, src.Length, src), dtype, 0, (int[])shape.Clone(), ContiguousStrides(shape));
    }

    private static ushort[] ConvertHalf(float[] data, TorchDType half)
    {
        var r = GC.AllocateUninitializedArray<ushort>(data.Length);
        if (half == TorchDType.F16) HalfConvert.FloatToF16(data, r); else HalfConvert.FloatToBF16(data, r);
        return r;
    }

    private static void CheckCount(long n, int[] shape)
    {
        long p = 1;
        foreach (var d in shape) { if (d < 0) throw new ArgumentException($"negative dimension in {Fmt(shape)}"); p *= d; }
        if (p != n) throw new ArgumentException($"shape {Fmt(shape)} needs {p} elements, data has {n}");
    }

    internal static string Fmt<T>(T[] a) => "[" + string.Join(", ", a) + "]";

    /// <summary>e.g. <c>tensor(f32 [2, 3] storage '0')</c>.</summary>
    public override string ToString() => $"tensor({DType.ShortName()} {ShapeText} storage '{StorageKey}')";
}

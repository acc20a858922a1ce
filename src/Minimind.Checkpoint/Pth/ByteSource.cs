using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>
/// Random-access bytes a storage is read from: a range of a file (opened per read, so a
/// <see cref="PthFile"/> holds no handle) or an in-memory array. Reads go straight into the
/// caller's buffer, so loading a float32 tensor copies its bytes exactly once.
/// </summary>
public abstract class ByteSource
{
    /// <summary>Number of bytes available.</summary>
    public abstract long Length { get; }

    /// <summary>Fills <paramref name="dest"/> from <paramref name="offset"/>; throws PthFormatException past the end.</summary>
    public abstract void Read(long offset, Span<byte> dest);

    /// <summary>The bytes as one span when they are in memory (no copy); false for files.</summary>
    public virtual bool TryGetSpan(long offset, long length, out ReadOnlySpan<byte> span) { span = default; return false; }

    /// <summary>A sub-range of this source.</summary>
    public ByteSource Slice(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new PthFormatException($"{Describe()}: range [{offset}, {offset + length}) lies outside {Length} bytes");
        return new SliceSource(this, offset, length);
    }

    /// <summary>A short description for messages (the file name).</summary>
    public abstract string Describe();

    /// <summary>Reads a whole file range from disk.</summary>
    public static ByteSource FromFile(string path) => new FileSource(path, new FileInfo(path).Length);

    /// <summary>Wraps bytes already in memory.</summary>
    public static ByteSource FromArray<T>(T[] data, string name) where T : unmanaged => new ArraySource<T>(data, name);

    private sealed class FileSource(string path, long length) : ByteSource
    {
        public override long Length => length;
        public override string Describe() => path;

        public override void Read(long offset, Span<byte> dest)
        {
            if (offset < 0 || offset > length - dest.Length)
                throw new PthFormatException($"{path}: read of {dest.Length} bytes at {offset} runs past the end ({length} bytes)");
            using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            while (dest.Length > 0)
            {
                // RandomAccess.Read takes at most int.MaxValue bytes per call; loop for large tensors.
                int n = RandomAccess.Read(h, dest, offset);
                if (n <= 0) throw new PthFormatException($"{path}: file ended at byte {offset} (was it truncated while reading?)");
                dest = dest[n..]; offset += n;
            }
        }
    }

    private sealed class ArraySource<T>(T[] data, string name) : ByteSource where T : unmanaged
    {
        public override long Length => (long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        public override string Describe() => name;

        private ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(data.AsSpan());

        public override void Read(long offset, Span<byte> dest)
        {
            if (offset < 0 || offset > Length - dest.Length)
                throw new PthFormatException($"{name}: read of {dest.Length} bytes at {offset} runs past the end ({Length} bytes)");
            Bytes.Slice((int)offset, dest.Length).CopyTo(dest);
        }

        public override bool TryGetSpan(long offset, long length, out ReadOnlySpan<byte> span)
        {
            if (offset < 0 || length < 0 || offset > Length - length) throw new PthFormatException($"{name}: range outside {Length} bytes");
            span = Bytes.Slice((int)offset, (int)length);
            return true;
        }
    }

    private sealed class SliceSource(ByteSource parent, long start, long length) : ByteSource
    {
        public override long Length => length;
        public override string Describe() => parent.Describe();

        public override void Read(long offset, Span<byte> dest)
        {
            if (offset < 0 || offset > length - dest.Length)
                throw new PthFormatException($"{parent.Describe()}: read of {dest.Length} bytes at {offset} runs past a {length}-byte record");
            parent.Read(start + offset, dest);
        }

        public override bool TryGetSpan(long offset, long len, out ReadOnlySpan<byte> span)
        {
            if (offset < 0 || len < 0 || offset > length - len) throw new PthFormatException($"{parent.Describe()}: range outside a {length}-byte record");
            return parent.TryGetSpan(start + offset, len, out span);
        }
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// Minimal zip reader for PyTorch archives: parses the (zip64) end records and the central directory
/// and locates each entry's data in the file, so stored entries are read in place (no copy, no
/// decompression pass). Deflated entries, which torch also reads, are inflated on demand with a
/// size bound. Every offset and size is checked against the file length.
/// </summary>
internal sealed class ZipDirectory
{
    /// <summary>One entry of the central directory.</summary>
    public sealed record Entry(string Name, int Method, ushort Flags, long CompressedSize, long Size, long LocalHeaderOffset);

    private readonly ByteSource _file;
    private readonly string _path;
    private readonly Dictionary<string, Entry> _byName = new(StringComparer.Ordinal);

    /// <summary>Entries in central-directory order.</summary>
    public List<Entry> Entries { get; } = new();

    private ZipDirectory(ByteSource file, string path) { _file = file; _path = path; }

    private PthFormatException Fail(string msg) => new($"{_path}: zip: {msg}");

    /// <summary>Reads the central directory of <paramref name="file"/>.</summary>
    public static ZipDirectory Open(ByteSource file, string path)
    {
        var z = new ZipDirectory(file, path);
        z.Parse();
        return z;
    }

    private void Parse()
    {
        long len = _file.Length;
        if (len < 22) throw Fail($"file of {len} bytes is too short for a zip archive");
        int tailLen = (int)Math.Min(len, 65535 + 22 + 20);
        var tail = new byte[tailLen];
        _file.Read(len - tailLen, tail);
        int eocd = -1;
        for (int i = tailLen - 22; i >= 0; i--)
            if (tail[i] == 'P' && tail[i + 1] == 'K' && tail[i + 2] == 5 && tail[i + 3] == 6) { eocd = i; break; }
        if (eocd < 0) throw Fail("no end-of-central-directory record (truncated file?)");
        var e = tail.AsSpan(eocd);
        long entries = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
        long eocdPos = len - tailLen + eocd;
        // A zip64 locator sits right before the EOCD; torch always writes one.
        if (eocd >= 20 && BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd - 20)) == 0x07064b50)
        {
            long z64 = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(eocd - 12));
            if (z64 < 0 || z64 > eocdPos - 20 - 56) throw Fail($"zip64 end record offset {z64} is outside the file");
            var rec = new byte[56];
            _file.Read(z64, rec);
            if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != 0x06064b50) throw Fail("zip64 end record signature is wrong");
            entries = BinaryPrimitives.ReadInt64LittleEndian(rec.AsSpan(32));
            cdSize = BinaryPrimitives.ReadInt64LittleEndian(rec.AsSpan(40));
            cdOffset = BinaryPrimitives.ReadInt64LittleEndian(rec.AsSpan(48));
        }
        if (cdOffset < 0 || cdSize < 0 || cdOffset > len || cdSize > len - cdOffset)
            throw Fail($"central directory [{cdOffset}, +{cdSize}) lies outside the {len}-byte file");
        if (entries < 0 || entries > cdSize / 46) throw Fail($"{entries} entries cannot fit in a {cdSize}-byte central directory");
        var cd = new byte[cdSize];
        _file.Read(cdOffset, cd);
        int p = 0;
        for (long n = 0; n < entries; n++)
        {
            if (p > cd.Length - 46 || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != 0x02014b50)
                throw Fail($"central directory entry {n} is damaged");
            var h = cd.AsSpan(p);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            long csize = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long usize = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (p + 46L + nameLen + extraLen + commentLen > cd.Length) throw Fail($"central directory entry {n} runs past the directory");
            string name = Encoding.UTF8.GetString(h.Slice(46, nameLen));
            var extra = h.Slice(46 + nameLen, extraLen);
            // Zip64 extended information: only the fields that overflowed are present, in this order.
            for (int q = 0; q + 4 <= extra.Length;)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra[q..]);
                int sz = BinaryPrimitives.ReadUInt16LittleEndian(extra[(q + 2)..]);
                if (q + 4 + sz > extra.Length) break;
                if (id == 1)
                {
                    var f = extra.Slice(q + 4, sz);
                    int k = 0;
                    if (usize == 0xFFFFFFFF) { if (k + 8 > f.Length) throw Fail($"zip64 field of '{name}' is short"); usize = BinaryPrimitives.ReadInt64LittleEndian(f[k..]); k += 8; }
                    if (csize == 0xFFFFFFFF) { if (k + 8 > f.Length) throw Fail($"zip64 field of '{name}' is short"); csize = BinaryPrimitives.ReadInt64LittleEndian(f[k..]); k += 8; }
                    if (local == 0xFFFFFFFF) { if (k + 8 > f.Length) throw Fail($"zip64 field of '{name}' is short"); local = BinaryPrimitives.ReadInt64LittleEndian(f[k..]); k += 8; }
                }
                q += 4 + sz;
            }
            if (csize < 0 || usize < 0 || local < 0 || local > len - 30 || csize > len - local)
                throw Fail($"entry '{name}' has sizes or offset outside the {len}-byte file");
            var entry = new Entry(name, method, flags, csize, usize, local);
            Entries.Add(entry);
            _byName.TryAdd(name, entry);
            p += 46 + nameLen + extraLen + commentLen;
        }
        if (Entries.Count == 0) throw Fail("the archive has no entries");
    }

    /// <summary>Finds an entry by its full name.</summary>
    public Entry? Find(string name) => _byName.TryGetValue(name, out var e) ? e : null;

    /// <summary>The entry's uncompressed bytes as a source: a slice of the file when stored, inflated into memory when deflated.</summary>
    public ByteSource Open(Entry e)
    {
        if ((e.Flags & 1) != 0) throw Fail($"entry '{e.Name}' is encrypted");
        var lh = new byte[30];
        _file.Read(e.LocalHeaderOffset, lh);
        if (BinaryPrimitives.ReadUInt32LittleEndian(lh) != 0x04034b50) throw Fail($"local header of '{e.Name}' at {e.LocalHeaderOffset} has a bad signature");
        long dataStart = e.LocalHeaderOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(lh.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(lh.AsSpan(28));
        if (dataStart > _file.Length - e.CompressedSize) throw Fail($"data of '{e.Name}' runs past the end of the file");
        switch (e.Method)
        {
            case 0:
                if (e.CompressedSize != e.Size) throw Fail($"stored entry '{e.Name}' has compressed size {e.CompressedSize} != size {e.Size}");
                return _file.Slice(dataStart, e.Size);
            case 8:
                {
                    // Deflate cannot expand more than ~1032:1; a larger claim is an allocation bomb.
                    if (e.Size > e.CompressedSize * 1040 + 1024 || e.Size > Array.MaxLength)
                        throw Fail($"deflated entry '{e.Name}' claims {e.Size} bytes from {e.CompressedSize}");
                    var comp = new byte[e.CompressedSize];
                    _file.Read(dataStart, comp);
                    var outBuf = new byte[e.Size];
                    try
                    {
                        using var ds = new DeflateStream(new MemoryStream(comp), CompressionMode.Decompress);
                        int got = 0, n;
                        while (got < outBuf.Length && (n = ds.Read(outBuf, got, outBuf.Length - got)) > 0) got += n;
                        if (got != outBuf.Length || ds.ReadByte() >= 0) throw Fail($"deflated entry '{e.Name}' does not inflate to its declared {e.Size} bytes");
                    }
                    catch (InvalidDataException ex) { throw Fail($"deflated entry '{e.Name}' is corrupt: {ex.Message}"); }
                    return ByteSource.FromArray(outBuf, $"{_path}:{e.Name}");
                }
            default:
                throw Fail($"entry '{e.Name}' uses compression method {e.Method} (only stored and deflated are supported)");
        }
    }

    /// <summary>Reads a whole (small) entry into memory; refuses entries over <paramref name="maxBytes"/>.</summary>
    public byte[] ReadAll(Entry e, long maxBytes)
    {
        if (e.Size > maxBytes) throw Fail($"entry '{e.Name}' is {e.Size} bytes, more than the {maxBytes} allowed");
        var src = Open(e);
        var b = new byte[e.Size];
        src.Read(0, b);
        return b;
    }
}

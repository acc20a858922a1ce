using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// Writes a zip archive laid out as PyTorch's <c>PyTorchStreamWriter</c> does: stored (uncompressed)
/// records whose data starts on a 64-byte boundary (padding in an <c>FB</c> extra field), sizes and
/// CRCs in data descriptors and the central directory, and zip64 end records always present
/// (zip64 extra fields for records or offsets past 4 GiB). Positions are counted here, so the
/// target stream need not be seekable.
/// </summary>
internal sealed class TorchZipWriter
{
    private const int Alignment = 64;
    private readonly Stream _s;
    private long _pos;
    private readonly List<(byte[] name, uint crc, long size, long offset)> _entries = new();
    private byte[]? _curName;
    private long _curOffset, _curSize;
    private Crc32? _crc;

    private readonly long _zip64Threshold;

    /// <param name="s">Target stream.</param>
    /// <param name="zip64Threshold">Sizes/offsets at or above this use zip64 fields (tests lower it to exercise them on small files).</param>
    public TorchZipWriter(Stream s, long zip64Threshold = 0xFFFFFFFF) { _s = s; _zip64Threshold = Math.Min(zip64Threshold, 0xFFFFFFFF); }

    private void Raw(ReadOnlySpan<byte> b) { _s.Write(b); _pos += b.Length; }

    /// <summary>Starts a record: writes its local header with the alignment padding.</summary>
    public void BeginEntry(string name)
    {
        if (_curName is not null) throw new InvalidOperationException("previous zip entry not finished");
        var nb = Encoding.UTF8.GetBytes(name);
        long dataStart = _pos + 30 + nb.Length + 4;
        int pad = (int)((Alignment - dataStart % Alignment) % Alignment);
        var h = new byte[30 + nb.Length + 4 + pad];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 0);      // version needed (as torch)
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), 0x0808); // data descriptor + UTF-8 names
        // method 0 (stored), time/date 0, crc/sizes 0: they follow in the data descriptor.
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(26), (ushort)nb.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), (ushort)(4 + pad));
        nb.CopyTo(h.AsSpan(30));
        h[30 + nb.Length] = (byte)'F'; h[31 + nb.Length] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32 + nb.Length), (ushort)pad);
        h.AsSpan(34 + nb.Length).Fill((byte)'Z');
        _curOffset = _pos;
        Raw(h);
        _curName = nb; _curSize = 0; _crc = new Crc32();
    }

    /// <summary>Appends record data.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        // 1 MiB pieces: the CRC pass leaves each piece in cache for the copy into the page cache.
        const int Piece = 1 << 20;
        for (int off = 0; off < data.Length; off += Piece)
        {
            var piece = data.Slice(off, Math.Min(Piece, data.Length - off));
            _crc!.Append(piece);
            Raw(piece);
        }
        _curSize += data.Length;
    }

    /// <summary>Finishes the record with its data descriptor.</summary>
    public void EndEntry()
    {
        uint crc = _crc!.GetCurrentHashAsUInt32();
        bool z64 = _curSize >= _zip64Threshold;
        var d = new byte[z64 ? 24 : 16];
        BinaryPrimitives.WriteUInt32LittleEndian(d, 0x08074b50);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(4), crc);
        if (z64) { BinaryPrimitives.WriteInt64LittleEndian(d.AsSpan(8), _curSize); BinaryPrimitives.WriteInt64LittleEndian(d.AsSpan(16), _curSize); }
        else { BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(8), (uint)_curSize); BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(12), (uint)_curSize); }
        Raw(d);
        _entries.Add((_curName!, crc, _curSize, _curOffset));
        _curName = null; _crc = null;
    }

    /// <summary>Writes a whole small record.</summary>
    public void AddEntry(string name, ReadOnlySpan<byte> data) { BeginEntry(name); Write(data); EndEntry(); }

    /// <summary>Writes the central directory and the zip64 and classic end records.</summary>
    public void Finish()
    {
        long cdStart = _pos;
        foreach (var (name, crc, size, offset) in _entries)
        {
            bool bigSize = size >= _zip64Threshold, bigOff = offset >= _zip64Threshold;
            int extra = (bigSize ? 16 : 0) + (bigOff ? 8 : 0);
            var h = new byte[46 + name.Length + (extra > 0 ? 4 + extra : 0)];
            BinaryPrimitives.WriteUInt32LittleEndian(h, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 0);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), (ushort)(extra > 0 ? 45 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(8), 0x0808);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), bigSize ? 0xFFFFFFFF : (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), bigSize ? 0xFFFFFFFF : (uint)size);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), (ushort)name.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(30), (ushort)(extra > 0 ? 4 + extra : 0));
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(42), bigOff ? 0xFFFFFFFF : (uint)offset);
            name.CopyTo(h.AsSpan(46));
            if (extra > 0)
            {
                var x = h.AsSpan(46 + name.Length);
                BinaryPrimitives.WriteUInt16LittleEndian(x, 1);
                BinaryPrimitives.WriteUInt16LittleEndian(x[2..], (ushort)extra);
                int k = 4;
                if (bigSize) { BinaryPrimitives.WriteInt64LittleEndian(x[k..], size); BinaryPrimitives.WriteInt64LittleEndian(x[(k + 8)..], size); k += 16; }
                if (bigOff) BinaryPrimitives.WriteInt64LittleEndian(x[k..], offset);
            }
            Raw(h);
        }
        long cdSize = _pos - cdStart, z64Start = _pos;
        var e = new byte[56 + 20 + 22];
        var z = e.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(z, 0x06064b50);
        BinaryPrimitives.WriteInt64LittleEndian(z[4..], 44);
        BinaryPrimitives.WriteUInt16LittleEndian(z[12..], 0x031e);
        BinaryPrimitives.WriteUInt16LittleEndian(z[14..], 45);
        BinaryPrimitives.WriteInt64LittleEndian(z[24..], _entries.Count);
        BinaryPrimitives.WriteInt64LittleEndian(z[32..], _entries.Count);
        BinaryPrimitives.WriteInt64LittleEndian(z[40..], cdSize);
        BinaryPrimitives.WriteInt64LittleEndian(z[48..], cdStart);
        var l = z[56..];
        BinaryPrimitives.WriteUInt32LittleEndian(l, 0x07064b50);
        BinaryPrimitives.WriteInt64LittleEndian(l[8..], z64Start);
        BinaryPrimitives.WriteUInt32LittleEndian(l[16..], 1);
        var c = z[76..];
        BinaryPrimitives.WriteUInt32LittleEndian(c, 0x06054b50);
        ushort n16 = (ushort)Math.Min(_entries.Count, 0xFFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(c[8..], n16);
        BinaryPrimitives.WriteUInt16LittleEndian(c[10..], n16);
        BinaryPrimitives.WriteUInt32LittleEndian(c[12..], (uint)Math.Min(cdSize, 0xFFFFFFFF));
        BinaryPrimitives.WriteUInt32LittleEndian(c[16..], (uint)Math.Min(cdStart, 0xFFFFFFFF));
        Raw(e);
    }
}

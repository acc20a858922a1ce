using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Minimind.Training;

/// <summary>
/// TensorBoard scalars (<c>events.out.tfevents.*</c>): TFRecord framing (length, masked CRC-32C of the length,
/// the record, masked CRC-32C of the record) around hand-encoded <c>Event</c> protobufs — a
/// <c>file_version</c> record first, then one Event per logged step whose Summary holds that step's scalars.
/// A resumed run keeps appending to its file: a record cut short by a kill is cut off first, and steps the file
/// already holds (logged after the last save, before the kill; recomputed bit for bit after the resume) are not
/// written again, so every step appears exactly once.
/// </summary>
public sealed class TensorBoardLog : IDisposable
{
    private readonly FileStream _fs;
    private long _lastStep;

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Opens the run's event file in <paramref name="dir"/>: with <paramref name="resumed"/>, the newest existing
    /// one (its complete records kept), else a new one.</summary>
    public TensorBoardLog(string dir, bool resumed)
    {
        Directory.CreateDirectory(dir);
        var existing = resumed
            ? new DirectoryInfo(dir).GetFiles("events.out.tfevents.*").OrderBy(f => f.LastWriteTimeUtc).LastOrDefault()
            : null;
        _lastStep = long.MinValue;
        if (existing is not null)
        {
            Path = existing.FullName;
            var (validEnd, lastStep) = Scan(File.ReadAllBytes(Path));
            _lastStep = lastStep;
            _fs = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.Read);
            if (_fs.Length != validEnd) { _fs.SetLength(validEnd); _fs.Flush(true); } // drop a record a kill cut short
            _fs.Position = validEnd;
            return;
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Path = System.IO.Path.Combine(dir, $"events.out.tfevents.{now}.{Environment.MachineName}.{Environment.ProcessId}.minimind");
        _fs = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        WriteRecord(Event(Wall(), 0, fileVersion: "brain.Event:2", scalars: null));
    }

    /// <summary>Writes the scalars of <paramref name="step"/> unless the file already holds that step.</summary>
    public void Scalars(long step, IEnumerable<KeyValuePair<string, float>> scalars)
    {
        if (step <= _lastStep) return;
        WriteRecord(Event(Wall(), step, null, scalars.ToList()));
        _lastStep = step;
    }

    private static double Wall() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    private void WriteRecord(byte[] data)
    {
        var rec = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(rec, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(8), MaskedCrc(rec.AsSpan(0, 8)));
        data.CopyTo(rec, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(12 + data.Length), MaskedCrc(data));
        _fs.Write(rec);
        _fs.Flush(); // to the OS at once: a kill loses at most the record being written
    }

    /// <summary>CRC-32C (Castagnoli), as TFRecord uses.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint c = ~0u;
        foreach (var b in data) c = BitOperations.Crc32C(c, b);
        return ~c;
    }

    /// <summary>TFRecord's masked CRC: rotate right by 15 and add a constant.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint c = Crc32C(data);
        return ((c >> 15) | (c << 17)) + 0xa282ead8u;
    }

    // Walks the records; returns where the last complete, checksummed one ends and the largest step among them.
    private static (long validEnd, long lastStep) Scan(byte[] b)
    {
        long at = 0, last = long.MinValue;
        while (at + 12 <= b.Length)
        {
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)at));
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at + 8)) != MaskedCrc(b.AsSpan((int)at, 8))) break;
            if (len > (ulong)(b.Length - at - 16)) break;
            var data = b.AsSpan((int)at + 12, (int)len);
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)(at + 12 + (long)len))) != MaskedCrc(data)) break;
            if (StepOf(data) is { } s && HasSummary(data)) last = Math.Max(last, s);
            at += 16 + (long)len;
        }
        return (at, last);
    }

    // Field 2 (step, varint) of an Event; null when absent.
    private static long? StepOf(ReadOnlySpan<byte> e)
    {
        long? step = null;
        ForEachField(e, (field, wire, value, _) => { if (field == 2 && wire == 0) step = (long)value; });
        return step;
    }

    private static bool HasSummary(ReadOnlySpan<byte> e)
    {
        bool has = false;
        ForEachField(e, (field, wire, _, _) => { if (field == 5 && wire == 2) has = true; });
        return has;
    }

    private delegate void FieldHandler(int field, int wire, ulong value, int length);

    private static void ForEachField(ReadOnlySpan<byte> e, FieldHandler h)
    {
        int i = 0;
        while (i < e.Length)
        {
            ulong key = Varint(e, ref i);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: h(field, wire, Varint(e, ref i), 0); break;
                case 1: i += 8; h(field, wire, 0, 8); break;
                case 5: i += 4; h(field, wire, 0, 4); break;
                case 2: { int n = (int)Varint(e, ref i); h(field, wire, 0, n); i += n; break; }
                default: return;
            }
        }
    }

    private static ulong Varint(ReadOnlySpan<byte> b, ref int i)
    {
        ulong v = 0;
        for (int shift = 0; i < b.Length && shift < 64; shift += 7)
        {
            byte x = b[i++];
            v |= (ulong)(x & 0x7f) << shift;
            if (x < 0x80) break;
        }
        return v;
    }

    // Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
    // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
    private static byte[] Event(double wall, long step, string? fileVersion, List<KeyValuePair<string, float>>? scalars)
    {
        var ms = new MemoryStream();
        ms.WriteByte(0x09); Span<byte> d = stackalloc byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(d, wall); ms.Write(d);
        if (step != 0) { ms.WriteByte(0x10); WriteVarint(ms, (ulong)step); }
        if (fileVersion is not null) Bytes(ms, 3, Encoding.UTF8.GetBytes(fileVersion));
        if (scalars is not null)
        {
            var summary = new MemoryStream();
            Span<byte> f = stackalloc byte[4];
            foreach (var (tag, v) in scalars)
            {
                var val = new MemoryStream();
                Bytes(val, 1, Encoding.UTF8.GetBytes(tag));
                val.WriteByte(0x15); BinaryPrimitives.WriteSingleLittleEndian(f, v); val.Write(f);
                Bytes(summary, 1, val.ToArray());
            }
            Bytes(ms, 5, summary.ToArray());
        }
        return ms.ToArray();
    }

    private static void Bytes(Stream s, int field, byte[] data)
    {
        s.WriteByte((byte)(field << 3 | 2));
        WriteVarint(s, (ulong)data.Length);
        s.Write(data);
    }

    private static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }

    /// <inheritdoc/>
    public void Dispose() => _fs.Dispose();
}

using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Minimind.Training;

/// <summary>
/// TensorBoard scalars and text (<c>events.out.tfevents.*</c>): TFRecord framing (length, masked CRC-32C of the length,
/// the record, masked CRC-32C of the record) around hand-encoded <c>Event</c> protobufs — a
/// <c>file_version</c> record first, then one Event per logged step and group (the tags' prefix: train/, val/, samples/)
/// whose Summary holds that step's values. A resumed run keeps appending to its file: a record cut short by a kill is cut
/// off first, and steps the file already holds for a group (logged after the last save, before the kill; recomputed bit
/// for bit after the resume) are not written again, so every step appears exactly once per group.
/// </summary>
public sealed class TensorBoardLog : IDisposable
{
    private readonly FileStream _fs;
    private readonly Dictionary<string, long> _lastStep; // per group (tag prefix)

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
        _lastStep = new Dictionary<string, long>(StringComparer.Ordinal);
        if (existing is not null)
        {
            Path = existing.FullName;
            var (validEnd, lastSteps) = Scan(File.ReadAllBytes(Path));
            _lastStep = lastSteps;
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

    /// <summary>Writes the scalars of <paramref name="step"/> unless the file already holds that step for their group (the first tag's prefix).</summary>
    public void Scalars(long step, IEnumerable<KeyValuePair<string, float>> scalars)
    {
        var values = scalars.Select(s => (s.Key, (object)s.Value)).ToList();
        if (values.Count > 0 && Claim(step, values[0].Key)) WriteRecord(Event(Wall(), step, null, values));
    }

    /// <summary>Writes text summaries (TensorBoard's text plugin) of <paramref name="step"/> unless the file already holds that step for their group.</summary>
    public void Texts(long step, IEnumerable<KeyValuePair<string, string>> texts)
    {
        var values = texts.Select(s => (s.Key, (object)s.Value)).ToList();
        if (values.Count > 0 && Claim(step, values[0].Key)) WriteRecord(Event(Wall(), step, null, values));
    }

    private static string GroupOf(string tag) => tag.IndexOf('/') is int i and >= 0 ? tag[..i] : tag;

    private bool Claim(long step, string tag)
    {
        string g = GroupOf(tag);
        if (_lastStep.TryGetValue(g, out long last) && step <= last) return false;
        _lastStep[g] = step;
        return true;
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

    // Walks the records; returns where the last complete, checksummed one ends and the largest step of each group among them.
    private static (long validEnd, Dictionary<string, long> lastSteps) Scan(byte[] b)
    {
        long at = 0;
        var last = new Dictionary<string, long>(StringComparer.Ordinal);
        while (at + 12 <= b.Length)
        {
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)at));
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at + 8)) != MaskedCrc(b.AsSpan((int)at, 8))) break;
            if (len > (ulong)(b.Length - at - 16)) break;
            var data = b.AsSpan((int)at + 12, (int)len);
            if (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)(at + 12 + (long)len))) != MaskedCrc(data)) break;
            if (StepOf(data) is { } s && FirstTag(data.ToArray()) is { } tag)
            {
                string g = GroupOf(tag);
                last[g] = last.TryGetValue(g, out long l) ? Math.Max(l, s) : s;
            }
            at += 16 + (long)len;
        }
        return (at, last);
    }

    // Field 2 (step, varint) of an Event; null when absent.
    private static long? StepOf(ReadOnlySpan<byte> e)
    {
        long? step = null;
        ForEachField(e, (field, wire, value, _, _) => { if (field == 2 && wire == 0) step = (long)value; });
        return step;
    }

    // The tag of the first Value of an Event's Summary (field 5 → Value 1 → tag 1); null without a summary.
    private static string? FirstTag(byte[] e)
    {
        string? tag = null;
        ForEachField(e, (field, wire, _, start, length) =>
        {
            if (field != 5 || wire != 2 || tag is not null) return;
            var summary = e.AsSpan(start, length).ToArray();
            ForEachField(summary, (f, w, _, vs, vl) =>
            {
                if (f != 1 || w != 2 || tag is not null) return;
                var value = summary.AsSpan(vs, vl).ToArray();
                ForEachField(value, (tf, tw, _, ts, tl) => { if (tf == 1 && tw == 2 && tag is null) tag = Encoding.UTF8.GetString(value, ts, tl); });
            });
        });
        return tag;
    }

    private delegate void FieldHandler(int field, int wire, ulong value, int start, int length);

    private static void ForEachField(ReadOnlySpan<byte> e, FieldHandler h)
    {
        int i = 0;
        while (i < e.Length)
        {
            ulong key = Varint(e, ref i);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: h(field, wire, Varint(e, ref i), i, 0); break;
                case 1: i += 8; h(field, wire, 0, i - 8, 8); break;
                case 5: i += 4; h(field, wire, 0, i - 4, 4); break;
                case 2: { int n = (int)Varint(e, ref i); if (n < 0 || n > e.Length - i) return; h(field, wire, 0, i, n); i += n; break; }
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
    // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9; }
    // A text value, as TensorBoard's text plugin reads it: metadata { plugin_data { plugin_name: "text" } },
    // tensor { dtype: DT_STRING (7), tensor_shape { dim { size: 1 } }, string_val: [UTF-8 text] }.
    private static byte[] Event(double wall, long step, string? fileVersion, List<(string Tag, object Value)>? scalars)
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
                if (v is string text)
                {
                    var tensor = new MemoryStream();
                    tensor.WriteByte(0x08); WriteVarint(tensor, 7);                       // dtype DT_STRING
                    Bytes(tensor, 2, new byte[] { 0x12, 0x02, 0x08, 0x01 });              // tensor_shape { dim { size: 1 } }
                    Bytes(tensor, 8, Encoding.UTF8.GetBytes(text));                     // string_val
                    Bytes(val, 8, tensor.ToArray());
                    var plugin = new MemoryStream();
                    Bytes(plugin, 1, Encoding.UTF8.GetBytes("text"));
                    var meta = new MemoryStream();
                    Bytes(meta, 1, plugin.ToArray());
                    Bytes(val, 9, meta.ToArray());
                }
                else { val.WriteByte(0x15); BinaryPrimitives.WriteSingleLittleEndian(f, (float)v); val.Write(f); }
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

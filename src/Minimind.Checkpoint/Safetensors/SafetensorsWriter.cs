using System.Buffers.Binary;
using System.Text.Json;

namespace Minimind.Checkpoint;

/// <summary>
/// Writes <c>.safetensors</c> files: the JSON header (tensors in the given order, then <c>__metadata__</c>),
/// padded with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned as in the reference
/// writer, then each tensor's row-major little-endian bytes. Views are resolved; tensors that share a storage
/// are written as separate copies (the format has no sharing). The write is atomic (<see cref="AtomicFile"/>).
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (and <paramref name="metadata"/>, if any) to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, TorchTensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, _) in list)
        {
            if (k == "__metadata__") throw new ArgumentException("a tensor cannot be named '__metadata__' in a safetensors file");
            if (!names.Add(k)) throw new ArgumentException($"tensor name '{k}' appears twice");
        }
        var header = Header(list, metadata);
        long total = 8 + header.Length + list.Sum(kv => kv.Value.ByteLength);
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, header.Length);
            s.Write(len);
            s.Write(header);
            foreach (var (_, t) in list) s.Write(t.ToContiguousBytes());
        }, total);
    }

    /// <summary>Extra records carried in <c>__metadata__</c>: those whose names end in this (JSON text, e.g. the architecture record).</summary>
    public const string RecordSuffix = ".json";

    /// <summary>
    /// The <c>__metadata__</c> of a file written from a state dict: <c>format: pt</c> (what transformers expects of a
    /// PyTorch-origin file) and each of its text records (<see cref="RecordSuffix"/>) under its own name; other extras
    /// have no place in the format and are refused with their name.
    /// </summary>
    public static Dictionary<string, string> Metadata(IEnumerable<KeyValuePair<string, byte[]>> extras)
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
        foreach (var (name, bytes) in extras)
        {
            if (!name.EndsWith(RecordSuffix, StringComparison.Ordinal))
                throw new ArgumentException($"extra record '{name}' is not a JSON text record; safetensors' __metadata__ holds only strings", nameof(extras));
            m[name] = new System.Text.UTF8Encoding(false, true).GetString(bytes);
        }
        return m;
    }

    /// <summary>The header bytes for <paramref name="tensors"/>, space-padded to a multiple of 8.</summary>
    internal static byte[] Header(IReadOnlyList<KeyValuePair<string, TorchTensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            long at = 0;
            foreach (var (name, t) in tensors)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", SafetensorsDType.Name(t.DType));
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(at);
                w.WriteNumberValue(at + t.ByteLength);
                w.WriteEndArray();
                w.WriteEndObject();
                at += t.ByteLength;
            }
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}

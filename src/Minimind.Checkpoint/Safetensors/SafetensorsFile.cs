using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Minimind.Checkpoint;

/// <summary>One tensor entry of a safetensors header.</summary>
/// <param name="Name">The key.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Sizes (empty for a scalar).</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsEntry(string Name, TorchDType DType, int[] Shape, long Begin, long End);

/// <summary>
/// A <c>.safetensors</c> file: an 8-byte little-endian header length N, N bytes of JSON (an object of
/// <c>name → {dtype, shape, data_offsets}</c> plus an optional <c>__metadata__</c> string map), then the
/// tensors' bytes. The reader checks what the reference implementation checks — header size limit, JSON
/// starting with '{', known dtypes, non-negative shapes whose byte size equals the offsets, offsets that
/// tile the data section exactly (no gap, no overlap, nothing past the end) — and raises
/// <see cref="PthFormatException"/> naming the file otherwise. Tensor bytes stay in the file until read.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Largest header accepted (the reference implementation's limit: 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The file read (or the name given for in-memory bytes).</summary>
    public required string Path { get; init; }
    /// <summary>Header entries in data order.</summary>
    public required IReadOnlyList<SafetensorsEntry> Entries { get; init; }
    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// <summary>Bytes of the JSON header.</summary>
    public required long HeaderBytes { get; init; }
    /// <summary>The data section (after the header).</summary>
    internal ByteSource Data { get; init; } = null!;

    /// <summary>Reads the header of <paramref name="path"/>.</summary>
    public static SafetensorsFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        return Read(ByteSource.FromFile(path), path);
    }

    /// <summary>Reads a file held in memory; <paramref name="name"/> is used in messages.</summary>
    public static SafetensorsFile ReadBytes(byte[] content, string name) => Read(ByteSource.FromArray(content, name), name);

    /// <summary>True when the first bytes look like a safetensors header (length, then '{').</summary>
    public static bool LooksLike(ReadOnlySpan<byte> head, long fileLength)
    {
        if (head.Length < 9) return false;
        long n = BinaryPrimitives.ReadInt64LittleEndian(head);
        return n > 0 && n <= MaxHeaderBytes && n <= fileLength - 8 && head[8] == (byte)'{';
    }

    private static SafetensorsFile Read(ByteSource src, string path)
    {
        if (src.Length < 8) throw new PthFormatException($"{path}: {src.Length} bytes is too short for a safetensors file (8-byte header length missing)");
        Span<byte> len = stackalloc byte[8];
        src.Read(0, len);
        long n = BinaryPrimitives.ReadInt64LittleEndian(len);
        if (n <= 0 || n > MaxHeaderBytes) throw new PthFormatException($"{path}: safetensors header length {n} is outside 1..{MaxHeaderBytes} bytes");
        if (n > src.Length - 8) throw new PthFormatException($"{path}: safetensors header of {n} bytes runs past the end of the file ({src.Length} bytes)");
        var header = new byte[n];
        src.Read(8, header);
        if (header[0] != (byte)'{') throw new PthFormatException($"{path}: safetensors header does not start with '{{'");
        var data = src.Slice(8 + n, src.Length - 8 - n);
        var (entries, meta) = ParseHeader(header, path);
        CheckTiling(entries, data.Length, path);
        return new SafetensorsFile { Path = path, Entries = entries, Metadata = meta, HeaderBytes = n, Data = data };
    }

    private static (List<SafetensorsEntry>, Dictionary<string, string>) ParseHeader(byte[] header, string path)
    {
        JsonDocument doc;
        try
        {
            // Strict UTF-8: invalid sequences are an error, not replacement characters.
            var text = new UTF8Encoding(false, true).GetString(header);
            doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or ArgumentException)
        {
            throw new PthFormatException($"{path}: safetensors header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new PthFormatException($"{path}: safetensors header is not a JSON object");
            var entries = new List<SafetensorsEntry>();
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw new PthFormatException($"{path}: safetensors header names '{p.Name}' twice");
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw new PthFormatException($"{path}: __metadata__ is not an object");
                    foreach (var m in p.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new PthFormatException($"{path}: __metadata__ value '{m.Name}' is not a string");
                        if (!meta.TryAdd(m.Name, m.Value.GetString()!)) throw new PthFormatException($"{path}: __metadata__ names '{m.Name}' twice");
                    }
                    continue;
                }
                entries.Add(ParseEntry(p.Name, p.Value, path));
            }
            return (entries, meta);
        }
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement v, string path)
    {
        string Where() => $"{path}: tensor '{name}'";
        if (v.ValueKind != JsonValueKind.Object) throw new PthFormatException($"{Where()} is not an object");
        string? dtypeName = null; int[]? shape = null; long[]? offsets = null;
        foreach (var f in v.EnumerateObject())
        {
            switch (f.Name)
            {
                case "dtype":
                    if (f.Value.ValueKind != JsonValueKind.String) throw new PthFormatException($"{Where()}: dtype is not a string");
                    dtypeName = f.Value.GetString();
                    break;
                case "shape":
                    shape = Ints(f.Value, "shape", int.MaxValue, Where).Select(x => (int)x).ToArray();
                    break;
                case "data_offsets":
                    offsets = Ints(f.Value, "data_offsets", long.MaxValue, Where);
                    if (offsets.Length != 2) throw new PthFormatException($"{Where()}: data_offsets has {offsets.Length} numbers, expected [begin, end]");
                    break;
                default:
                    throw new PthFormatException($"{Where()}: unknown field '{f.Name}'");
            }
        }
        if (dtypeName is null || shape is null || offsets is null) throw new PthFormatException($"{Where()}: needs dtype, shape and data_offsets");
        if (!SafetensorsDType.TryParse(dtypeName, out var dt))
            throw new PthFormatException($"{Where()}: dtype '{dtypeName}' is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
        if (offsets[0] > offsets[1]) throw new PthFormatException($"{Where()}: data_offsets [{offsets[0]}, {offsets[1]}] run backwards");
        long numel = 1;
        foreach (var d in shape)
        {
            if (d != 0 && numel > long.MaxValue / 8 / d) throw new PthFormatException($"{Where()}: shape {TorchTensor.Fmt(shape)} is too large");
            numel *= d;
        }
        if (numel * dt.ElementSize() != offsets[1] - offsets[0])
            throw new PthFormatException($"{Where()}: shape {TorchTensor.Fmt(shape)} of {dtypeName} needs {numel * dt.ElementSize()} bytes but data_offsets span {offsets[1] - offsets[0]}");
        return new SafetensorsEntry(name, dt, shape, offsets[0], offsets[1]);
    }

    private static long[] Ints(JsonElement a, string field, long max, Func<string> where)
    {
        if (a.ValueKind != JsonValueKind.Array) throw new PthFormatException($"{where()}: {field} is not an array");
        if (a.GetArrayLength() > 64) throw new PthFormatException($"{where()}: {field} has {a.GetArrayLength()} entries");
        var r = new long[a.GetArrayLength()];
        int i = 0;
        foreach (var x in a.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out var n) || n < 0 || n > max)
                throw new PthFormatException($"{where()}: {field} holds {x.GetRawText()}, not an integer in 0..{max}");
            r[i++] = n;
        }
        return r;
    }

    // As the reference implementation: sorted by offset, the tensors tile [0, data length) exactly.
    private static void CheckTiling(List<SafetensorsEntry> entries, long dataLength, string path)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long at = 0;
        foreach (var e in entries)
        {
            if (e.Begin < at) throw new PthFormatException($"{path}: tensor '{e.Name}' at bytes [{e.Begin}, {e.End}) overlaps the previous tensor (which ends at {at})");
            if (e.Begin > at) throw new PthFormatException($"{path}: gap of {e.Begin - at} bytes before tensor '{e.Name}' at {e.Begin}");
            at = e.End;
        }
        if (at != dataLength) throw new PthFormatException($"{path}: the tensors cover {at} bytes but the data section holds {dataLength}");
    }

    /// <summary>
    /// The tensors as a state dict in header order of their offsets, each on its own storage over the file's bytes
    /// (safetensors has no shared storages; nothing is read until a tensor is materialised). <c>__metadata__</c> entries named
    /// <c>*.json</c> become the dict's <see cref="StateDict.Extras"/>, as <see cref="SafetensorsWriter.Metadata"/> wrote them.
    /// </summary>
    public StateDict ToStateDict()
    {
        var sd = new StateDict { SourcePath = Path };
        // text records (the architecture record) travel in __metadata__ under their record name
        foreach (var (k, v) in Metadata)
            if (k.EndsWith(SafetensorsWriter.RecordSuffix, StringComparison.Ordinal)) sd.Extras[k] = Encoding.UTF8.GetBytes(v);
        foreach (var e in Entries)
        {
            var st = new TorchStorage(e.Name, e.DType, e.End - e.Begin, Data.Slice(e.Begin, e.End - e.Begin));
            sd.Add(e.Name, new TorchTensor(st, e.DType, 0, (int[])e.Shape.Clone(), TorchTensor.ContiguousStrides(e.Shape)));
        }
        return sd;
    }
}

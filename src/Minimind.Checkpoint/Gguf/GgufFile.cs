using System.Buffers.Binary;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>One tensor of a GGUF file.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Type">ggml type number (see <see cref="GgmlType"/> for those this project writes).</param>
/// <param name="Dims">Dimensions in ggml order (PyTorch's reversed).</param>
/// <param name="Offset">Byte offset inside the data section.</param>
public sealed record GgufTensorInfo(string Name, uint Type, long[] Dims, long Offset)
{
    /// <summary>The type's name (<c>f32</c>, <c>f16</c>, <c>bf16</c>, or <c>type N</c>).</summary>
    public string TypeName => Type switch { 0 => "f32", 1 => "f16", 30 => "bf16", 2 => "q4_0", 3 => "q4_1", 8 => "q8_0", _ => $"type {Type}" };
}

/// <summary>
/// The header of a GGUF file (v2/v3): metadata and tensor infos. Every count, length and offset is bounds-checked
/// against the file; malformed files raise <see cref="PthFormatException"/> naming the file.
/// </summary>
public sealed class GgufFile
{
    /// <summary>The file read.</summary>
    public required string Path { get; init; }
    /// <summary>Format version.</summary>
    public required uint Version { get; init; }
    /// <summary>Metadata in file order.</summary>
    public required IReadOnlyList<KeyValuePair<string, GgufValue>> Metadata { get; init; }
    /// <summary>Tensors in file order.</summary>
    public required IReadOnlyList<GgufTensorInfo> Tensors { get; init; }
    /// <summary>Where the data section starts.</summary>
    public required long DataStart { get; init; }
    /// <summary>The file length.</summary>
    public required long Length { get; init; }

    /// <summary>A metadata value, or null.</summary>
    public GgufValue? Get(string key) => Metadata.FirstOrDefault(kv => kv.Key == key).Value;

    /// <summary>True when <paramref name="head"/> starts with the GGUF magic.</summary>
    public static bool LooksLike(ReadOnlySpan<byte> head) => head.Length >= 4 && head[..4].SequenceEqual("GGUF"u8);

    /// <summary>Reads the header of <paramref name="path"/>.</summary>
    public static GgufFile Read(string path)
    {
        var bytes = File.ReadAllBytes(path); // header and data: small models; inspect reads them once
        return Parse(bytes, path);
    }

    /// <summary>Parses a whole file held in memory.</summary>
    public static GgufFile Parse(byte[] b, string path)
    {
        int at = 0;
        void Need(long n) { if (n < 0 || at > b.Length - n) throw new PthFormatException($"{path}: GGUF header ends early at byte {at} (needs {n} more bytes)"); }
        uint U32() { Need(4); var v = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)); at += 4; return v; }
        ulong U64() { Need(8); var v = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at)); at += 8; return v; }
        long Count(string what) { var v = U64(); if (v > (ulong)(b.Length - at)) throw new PthFormatException($"{path}: {what} {v} is larger than the file"); return (long)v; }
        string Str() { long n = Count("string length"); Need(n); var s = Encoding.UTF8.GetString(b, at, (int)n); at += (int)n; return s; }
        object Scalar(GgufValueType t)
        {
            switch (t)
            {
                case GgufValueType.U8: Need(1); return (long)b[at++];
                case GgufValueType.I8: Need(1); return (long)(sbyte)b[at++];
                case GgufValueType.Bool: Need(1); return b[at++] != 0;
                case GgufValueType.U16: Need(2); at += 2; return (long)BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at - 2));
                case GgufValueType.I16: Need(2); at += 2; return (long)BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(at - 2));
                case GgufValueType.U32: return (long)U32();
                case GgufValueType.I32: return (long)(int)U32();
                case GgufValueType.F32: Need(4); at += 4; return (double)BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(at - 4));
                case GgufValueType.U64: return U64();
                case GgufValueType.I64: return (long)U64();
                case GgufValueType.F64: Need(8); at += 8; return BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(at - 8));
                case GgufValueType.String: return Str();
                default: throw new PthFormatException($"{path}: unknown GGUF value type {(uint)t} at byte {at}");
            }
        }
        Need(4);
        if (!LooksLike(b)) throw new PthFormatException($"{path}: not a GGUF file (no 'GGUF' magic)");
        at = 4;
        uint version = U32();
        if (version is < 2 or > 3) throw new PthFormatException($"{path}: GGUF version {version} is not supported (2 or 3)");
        long nTensors = Count("tensor count"), nKv = Count("metadata count");
        var meta = new List<KeyValuePair<string, GgufValue>>();
        for (long i = 0; i < nKv; i++)
        {
            var key = Str();
            var t = (GgufValueType)U32();
            if (t == GgufValueType.Array)
            {
                var et = (GgufValueType)U32();
                if (et == GgufValueType.Array) throw new PthFormatException($"{path}: '{key}' is an array of arrays");
                long n = Count("array length");
                var a = new object[n];
                for (long j = 0; j < n; j++) a[j] = Scalar(et);
                meta.Add(new(key, new GgufValue(t, et, a)));
            }
            else meta.Add(new(key, new GgufValue(t, default, Scalar(t))));
        }
        var tensors = new List<GgufTensorInfo>();
        for (long i = 0; i < nTensors; i++)
        {
            var name = Str();
            uint nd = U32();
            if (nd > 8) throw new PthFormatException($"{path}: tensor '{name}' has {nd} dimensions");
            var dims = new long[nd];
            for (int d = 0; d < nd; d++) dims[d] = Count($"tensor '{name}' dimension");
            uint type = U32();
            long off = Count($"tensor '{name}' offset");
            tensors.Add(new GgufTensorInfo(name, type, dims, off));
        }
        long align = meta.FirstOrDefault(kv => kv.Key == "general.alignment").Value?.Value is long al && al > 0 ? al : 32;
        long dataStart = (at + align - 1) / align * align;
        foreach (var t in tensors)
        {
            long n = 1;
            foreach (var d in t.Dims) n = d == 0 ? 0 : (n > long.MaxValue / Math.Max(1, d) ? throw new PthFormatException($"{path}: tensor '{t.Name}' is too large") : n * d);
            long bytes = t.Type switch { 0 => n * 4, 1 or 30 => n * 2, _ => 0 };
            if (dataStart + t.Offset > b.Length - bytes) throw new PthFormatException($"{path}: tensor '{t.Name}' at offset {t.Offset} runs past the end of the file");
        }
        return new GgufFile { Path = path, Version = version, Metadata = meta, Tensors = tensors, DataStart = dataStart, Length = b.Length };
    }

    /// <summary>The float32 values of a f32/f16/bf16 tensor (row-major in PyTorch order).</summary>
    public float[] ReadFloat32(GgufTensorInfo t)
    {
        long n = t.Dims.Aggregate(1L, (a, d) => a * d);
        var r = new float[n];
        using var fs = File.OpenRead(Path);
        fs.Position = DataStart + t.Offset;
        int es = t.Type == 0 ? 4 : 2;
        var buf = new byte[n * es];
        fs.ReadExactly(buf);
        var dt = t.Type switch { 0 => TorchDType.F32, 1 => TorchDType.F16, 30 => TorchDType.BF16, _ => throw new NotSupportedException($"{Path}: tensor '{t.Name}' is {t.TypeName}; only f32/f16/bf16 can be read") };
        TorchTensor.BytesToFloat(buf, dt, r);
        return r;
    }
}

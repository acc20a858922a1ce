using System.Buffers.Binary;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// Writes GGUF v3 files (llama.cpp's format): magic, version, counts, metadata key/values, tensor infos (ggml
/// dimension order, i.e. PyTorch's reversed, with offsets into the data section), then the tensors, each aligned to
/// <c>general.alignment</c> (32). The write is atomic (<see cref="AtomicFile"/>).
/// </summary>
public sealed class GgufWriter
{
    /// <summary>Tensor data alignment (GGUF's default; written as general.alignment).</summary>
    public const int Alignment = 32;

    private readonly List<(string Key, GgufValue Value)> _meta = new();
    private readonly List<(string Name, GgmlType Type, int[] Shape, byte[] Data)> _tensors = new();

    /// <summary>Adds a metadata entry (keys must be unique).</summary>
    public GgufWriter Add(string key, GgufValue value)
    {
        if (_meta.Any(m => m.Key == key)) throw new ArgumentException($"GGUF metadata key '{key}' added twice");
        _meta.Add((key, value));
        return this;
    }

    /// <summary>Adds a tensor of PyTorch shape <paramref name="shape"/> from float32 values stored as <paramref name="type"/>.</summary>
    public GgufWriter AddTensor(string name, ReadOnlySpan<float> values, int[] shape, GgmlType type)
    {
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"GGUF tensor '{name}' added twice");
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n != values.Length) throw new ArgumentException($"tensor '{name}': shape [{string.Join(", ", shape)}] needs {n} values, got {values.Length}");
        byte[] data;
        switch (type)
        {
            case GgmlType.F32: data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray(); break;
            case GgmlType.F16:
            case GgmlType.BF16:
                {
                    var h = new ushort[values.Length];
                    if (type == GgmlType.F16) HalfConvert.FloatToF16(values, h); else HalfConvert.FloatToBF16(values, h);
                    data = System.Runtime.InteropServices.MemoryMarshal.AsBytes(h.AsSpan()).ToArray();
                    break;
                }
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
        _tensors.Add((name, type, (int[])shape.Clone(), data));
        return this;
    }

    /// <summary>Writes the file.</summary>
    public void Write(string path)
    {
        if (!_meta.Any(m => m.Key == "general.alignment")) _meta.Insert(Math.Min(1, _meta.Count), ("general.alignment", GgufValue.U32(Alignment)));
        var head = new MemoryStream();
        var w = new BinaryWriter(head, Encoding.UTF8);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_meta.Count);
        foreach (var (k, v) in _meta) { Str(w, k); w.Write((uint)v.Type); Value(w, v); }
        long offset = 0;
        var offsets = new List<long>();
        foreach (var t in _tensors)
        {
            Str(w, t.Name);
            w.Write((uint)t.Shape.Length);
            for (int i = t.Shape.Length - 1; i >= 0; i--) w.Write((ulong)t.Shape[i]);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offsets.Add(offset);
            offset = Align(offset + t.Data.Length);
        }
        w.Flush();
        long headLen = head.Length, dataStart = Align(headLen);
        AtomicFile.Write(path, s =>
        {
            head.Position = 0;
            head.CopyTo(s);
            var zeros = new byte[Alignment];
            s.Write(zeros, 0, (int)(dataStart - headLen));
            long at = 0;
            for (int i = 0; i < _tensors.Count; i++)
            {
                s.Write(zeros, 0, (int)(offsets[i] - at));
                s.Write(_tensors[i].Data);
                at = offsets[i] + _tensors[i].Data.Length;
            }
            s.Write(zeros, 0, (int)(Align(at) - at));
        }, dataStart + offset);
    }

    private static long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;

    private static void Str(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }

    private static void Value(BinaryWriter w, GgufValue v)
    {
        if (v.Type == GgufValueType.Array)
        {
            var a = (object[])v.Value;
            w.Write((uint)v.ElementType);
            w.Write((ulong)a.Length);
            foreach (var x in a) Scalar(w, v.ElementType, x);
        }
        else Scalar(w, v.Type, v.Value);
    }

    private static void Scalar(BinaryWriter w, GgufValueType t, object x)
    {
        switch (t)
        {
            case GgufValueType.U8: w.Write((byte)Convert.ToInt64(x)); break;
            case GgufValueType.I8: w.Write((sbyte)Convert.ToInt64(x)); break;
            case GgufValueType.U16: w.Write((ushort)Convert.ToInt64(x)); break;
            case GgufValueType.I16: w.Write((short)Convert.ToInt64(x)); break;
            case GgufValueType.U32: w.Write(checked((uint)Convert.ToInt64(x))); break;
            case GgufValueType.I32: w.Write(checked((int)Convert.ToInt64(x))); break;
            case GgufValueType.U64: w.Write(Convert.ToUInt64(x)); break;
            case GgufValueType.I64: w.Write(Convert.ToInt64(x)); break;
            case GgufValueType.F32: w.Write((float)Convert.ToDouble(x)); break;
            case GgufValueType.F64: w.Write(Convert.ToDouble(x)); break;
            case GgufValueType.Bool: w.Write((bool)x ? (byte)1 : (byte)0); break;
            case GgufValueType.String: Str(w, (string)x); break;
            default: throw new ArgumentException($"GGUF value type {t} cannot be nested");
        }
    }
}

using System.Buffers.Binary;
using System.Collections;
using System.Numerics;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// Writes an object tree as a protocol-2 pickle using only opcodes and globals that
/// <c>torch.load(weights_only=True)</c> accepts. Tensors become <c>_rebuild_tensor_v2</c> calls whose
/// storages are persistent ids; each distinct <see cref="TorchStorage"/> gets one key ("0", "1", ...),
/// so tensors sharing a storage stay tied after loading.
/// </summary>
internal sealed class Pickler
{
    private const int MaxDepth = 256;
    private readonly MemoryStream _out = new();
    private readonly Dictionary<string, int> _globalMemo = new(StringComparer.Ordinal);
    private readonly Dictionary<TorchStorage, (string key, TorchDType dtype)> _keys = new(ReferenceEqualityComparer.Instance);
    private int _memoNext;

    /// <summary>Storages in key order with the dtype they are written as.</summary>
    public List<(TorchStorage storage, string key, TorchDType dtype)> Storages { get; } = new();

    /// <summary>Pickles <paramref name="root"/>; returns the pickle bytes.</summary>
    public byte[] Dump(object? root)
    {
        _out.WriteByte(0x80); _out.WriteByte(2);
        Emit(root, 0);
        _out.WriteByte((byte)'.');
        return _out.ToArray();
    }

    private void Op(char c) => _out.WriteByte((byte)c);

    private void Global(string module, string name)
    {
        string key = module + "\n" + name + "\n";
        if (_globalMemo.TryGetValue(key, out var idx)) { Get(idx); return; }
        Op('c');
        _out.Write(Encoding.ASCII.GetBytes(key));
        Put(_globalMemo[key] = _memoNext++);
    }

    private void Put(int idx)
    {
        if (idx < 256) { Op('q'); _out.WriteByte((byte)idx); }
        else { Op('r'); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, idx); _out.Write(b); }
    }

    private void Get(int idx)
    {
        if (idx < 256) { Op('h'); _out.WriteByte((byte)idx); }
        else { Op('j'); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, idx); _out.Write(b); }
    }

    private void Int(long v)
    {
        Span<byte> b = stackalloc byte[9];
        if (v >= 0 && v < 256) { Op('K'); _out.WriteByte((byte)v); }
        else if (v >= 0 && v < 65536) { Op('M'); BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); _out.Write(b[..2]); }
        else if (v >= int.MinValue && v <= int.MaxValue) { Op('J'); BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); _out.Write(b[..4]); }
        else Long1(new BigInteger(v));
    }

    private void Long1(BigInteger v)
    {
        // LONG1 (never the text INT/LONG opcodes, which weights_only rejects): minimal two's complement, little-endian.
        var bytes = v.IsZero ? Array.Empty<byte>() : v.ToByteArray(isUnsigned: false, isBigEndian: false);
        if (bytes.Length > 255) throw new NotSupportedException("integer too large to pickle with LONG1");
        Op('\u008a'); _out.WriteByte((byte)bytes.Length); _out.Write(bytes);
    }

    private void Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Op('X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)b.Length);
        _out.Write(n); _out.Write(b);
    }

    private void Emit(object? o, int depth)
    {
        if (depth > MaxDepth) throw new NotSupportedException($"object nests deeper than {MaxDepth} levels (a cycle?)");
        switch (o)
        {
            case null: Op('N'); break;
            case bool b: Op(b ? '\u0088' : '\u0089'); break;
            case long v: Int(v); break;
            case int v: Int(v); break;
            case BigInteger v: if (v >= long.MinValue && v <= long.MaxValue) Int((long)v); else Long1(v); break;
            case double d: { Op('G'); Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteDoubleBigEndian(b, d); _out.Write(b); break; }
            case float f: Emit((double)f, depth); break;
            case string s: Str(s); break;
            case TorchTensor t: Tensor(t); break;
            case StateDict sd: Emit(sd.ToRoot(), depth); break;
            case object?[] tuple: Tuple(tuple, depth); break;
            case IDictionary d:
                {
                    if (d is PickleDict { IsOrderedDict: true })
                    {
                        Global("collections", "OrderedDict");
                        Op(')'); Op('R');
                    }
                    else Op('}');
                    Put(_memoNext++);
                    int n = 0;
                    foreach (DictionaryEntry kv in d)
                    {
                        // SETITEMS in batches of 1000, as Python's pickler does.
                        if (n % 1000 == 0) { if (n > 0) Op('u'); Op('('); }
                        Emit(kv.Key, depth + 1); Emit(kv.Value, depth + 1); n++;
                    }
                    if (n > 0) Op('u');
                    break;
                }
            case IList l when o is not Array:
                {
                    Op(']'); Put(_memoNext++);
                    for (int i = 0; i < l.Count; i++)
                    {
                        if (i % 1000 == 0) { if (i > 0) Op('e'); Op('('); }
                        Emit(l[i], depth + 1);
                    }
                    if (l.Count > 0) Op('e');
                    break;
                }
            default:
                throw new NotSupportedException($"cannot write a {o.GetType().Name} into a .pth (supported: dicts, lists, tuples as object?[], ints, floats, strings, bools, None, tensors)");
        }
    }

    private void Tuple(object?[] t, int depth)
    {
        switch (t.Length)
        {
            case 0: Op(')'); return;
            case 1: Emit(t[0], depth + 1); Op('\u0085'); return;
            case 2: Emit(t[0], depth + 1); Emit(t[1], depth + 1); Op('\u0086'); return;
            case 3: Emit(t[0], depth + 1); Emit(t[1], depth + 1); Emit(t[2], depth + 1); Op('\u0087'); return;
            default:
                Op('(');
                foreach (var x in t) Emit(x, depth + 1);
                Op('t');
                return;
        }
    }

    private void IntTuple<T>(T[] v) where T : struct
    {
        var o = new object?[v.Length];
        for (int i = 0; i < v.Length; i++) o[i] = Convert.ToInt64(v[i]);
        Tuple(o, 0);
    }

    private void Tensor(TorchTensor t)
    {
        if (!_keys.TryGetValue(t.Storage, out var info))
        {
            if (t.Storage.ByteLength % t.DType.ElementSize() != 0)
                throw new NotSupportedException($"storage of {t.Storage.ByteLength} bytes is not a whole number of {t.DType.TorchName()} elements");
            info = (_keys.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), t.DType);
            _keys[t.Storage] = info;
            Storages.Add((t.Storage, info.key, t.DType));
        }
        else if (info.dtype != t.DType)
            throw new NotSupportedException($"two tensors of different dtypes ({info.dtype.TorchName()}, {t.DType.TorchName()}) share storage '{t.StorageKey}'; typed storages cannot express that");
        Global("torch._utils", "_rebuild_tensor_v2");
        Op('(');
        {
            Op('(');
            Str("storage");
            Global("torch", info.dtype.StorageClassName());
            Str(info.key);
            Str("cpu");
            Int(t.Storage.ByteLength / info.dtype.ElementSize());
            Op('t');
            Op('Q');
        }
        Int(t.StorageOffset);
        IntTuple(t.Shape);
        IntTuple(t.Stride);
        Op(t.RequiresGrad ? '\u0088' : '\u0089');
        Global("collections", "OrderedDict"); Op(')'); Op('R'); // backward_hooks: an empty OrderedDict
        Op('t');
        Op('R');
    }
}

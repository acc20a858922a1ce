using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Minimind.Checkpoint;

/// <summary>
/// The pickle virtual machine restricted to what <c>torch.load(weights_only=True)</c> accepts:
/// about thirty opcodes and an allow-list of globals. Everything else (<c>os.system</c>,
/// <c>builtins.eval</c>, text <c>PERSID</c>, the text <c>INT</c> opcode, ...) is rejected with a
/// <see cref="PthFormatException"/> naming the opcode or global and its byte offset. The machine is
/// iterative (no recursion on input), every read is bounds-checked, and memo/stack sizes are capped.
/// </summary>
internal sealed class Unpickler
{
    /// <summary>Resolves a <c>('storage', cls, key, location, numel[, view])</c> persistent id.</summary>
    public delegate StorageRef PersistentLoader(object?[] pid);

    /// <summary>Thrown when the pickle runs past a buffer that is only a prefix of the file (legacy reader grows it).</summary>
    public sealed class NeedMoreDataException : Exception;

    private const int MaxStack = 1 << 20, MaxMemo = 1 << 20, MaxMarks = 1 << 16, MaxDepth = 256;

    private readonly byte[] _buf;
    private readonly int _end;
    private readonly bool _isPrefix;
    private readonly string _file;
    private readonly PersistentLoader _persistent;
    private int _pos, _opPos;
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();

    /// <summary>Prepares to read a pickle from <paramref name="buf"/>[<paramref name="start"/>..<paramref name="end"/>).</summary>
    /// <param name="buf">The bytes.</param>
    /// <param name="start">First byte of the pickle.</param>
    /// <param name="end">End of the readable bytes.</param>
    /// <param name="isPrefix">True when more of the file follows the buffer (reading past it throws <see cref="NeedMoreDataException"/>).</param>
    /// <param name="file">The file's name, for messages.</param>
    /// <param name="persistent">Resolves persistent ids (storages).</param>
    public Unpickler(byte[] buf, int start, int end, bool isPrefix, string file, PersistentLoader persistent)
    {
        _buf = buf; _pos = start; _end = end; _isPrefix = isPrefix; _file = file; _persistent = persistent;
    }

    /// <summary>Byte after the STOP opcode once <see cref="Load"/> returned.</summary>
    public int Position => _pos;

    private PthFormatException Fail(string msg) => new($"{_file}: pickle byte {_opPos}: {msg}");

    private void Need(int n)
    {
        if (n < 0 || _pos > _end - n)
        {
            if (_isPrefix) throw new NeedMoreDataException();
            throw Fail("the pickle is truncated (unexpected end of data)");
        }
    }

    private byte U8() { Need(1); return _buf[_pos++]; }
    private ReadOnlySpan<byte> Bytes(long n)
    {
        if (n < 0 || n > int.MaxValue) throw Fail($"length {n} is out of range");
        Need((int)n);
        var s = _buf.AsSpan(_pos, (int)n); _pos += (int)n; return s;
    }

    private void Push(object? o)
    {
        if (_stack.Count >= MaxStack) throw Fail("pickle stack grew beyond 1M items");
        _stack.Add(o);
    }

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks[^1])) throw Fail("pickle stack underflow");
        var o = _stack[^1]; _stack.RemoveAt(_stack.Count - 1); return o;
    }

    private object? Top()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _stack.Count <= _marks[^1])) throw Fail("pickle stack underflow");
        return _stack[^1];
    }

    private object?[] PopMark()
    {
        if (_marks.Count == 0) throw Fail("no MARK on the stack");
        int m = _marks[^1]; _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(m, _stack.Count - m).ToArray();
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private void Memoize(long index, object? value)
    {
        if (index < 0) throw Fail($"negative memo index {index}");
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index)) throw Fail("memo grew beyond 1M entries");
        _memo[index] = value;
    }

    private object? Recall(long index) => _memo.TryGetValue(index, out var v) ? v : throw Fail($"memo index {index} was never stored");

    /// <summary>Runs the machine to STOP and returns the unpickled object.</summary>
    public object? Load()
    {
        while (true)
        {
            _opPos = _pos;
            byte op = U8();
            switch (op)
            {
                case 0x80: { int v = U8(); if (v > 5) throw Fail($"unsupported pickle protocol {v}"); break; } // PROTO
                case 0x95: Bytes(8); break; // FRAME: framing is only a hint for buffered readers
                case (byte)'.': // STOP
                    {
                        var r = Pop();
                        if (_stack.Count != 0 || _marks.Count != 0) throw Fail("STOP with items left on the stack");
                        CheckShape(r);
                        return r;
                    }
                case (byte)'c': { string mod = Line(), name = Line(); Push(ResolveGlobal(mod, name)); break; } // GLOBAL
                case 0x93: // STACK_GLOBAL
                    {
                        if (Pop() is not string name || Pop() is not string mod) throw Fail("STACK_GLOBAL needs two strings");
                        Push(ResolveGlobal(mod, name)); break;
                    }
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                case (byte)'K': Push((long)U8()); break;
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                case 0x8a: // LONG1: little-endian two's complement of n bytes
                    {
                        int n = U8();
                        var b = Bytes(n);
                        if (n == 0) { Push(0L); break; }
                        var big = new BigInteger(b, isUnsigned: false, isBigEndian: false);
                        Push(big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big);
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;
                case (byte)'X': Push(Utf8(Bytes(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))))); break;
                case 0x8c: Push(Utf8(Bytes(U8()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Bytes(BinaryPrimitives.ReadInt64LittleEndian(Bytes(8))))); break; // BINUNICODE8
                case (byte)'U': Push(Encoding.Latin1.GetString(Bytes(U8()))); break; // SHORT_BINSTRING
                case (byte)'C': Push(Bytes(U8()).ToArray()); break; // SHORT_BINBYTES
                case (byte)'B': Push(Bytes(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4))).ToArray()); break; // BINBYTES
                case (byte)')': Push(Array.Empty<object?>()); break;
                case 0x85: Push(new[] { Pop() }); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                case (byte)'t': Push(PopMark()); break;
                case (byte)']': Push(new List<object?>()); break;
                case (byte)'}': Push(new PickleDict()); break;
                case (byte)'(':
                    if (_marks.Count >= MaxMarks) throw Fail("too many nested MARKs");
                    _marks.Add(_stack.Count); break;
                case (byte)'a': { var v = Pop(); AsList(Top()).Add(v); break; }
                case (byte)'e': { var items = PopMark(); AsList(Top()).AddRange(items); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItem(AsDict(Top()), k, v); break; }
                case (byte)'u':
                    {
                        var items = PopMark();
                        if (items.Length % 2 != 0) throw Fail("SETITEMS with an odd number of items");
                        var d = AsDict(Top());
                        for (int i = 0; i < items.Length; i += 2) SetItem(d, items[i], items[i + 1]);
                        break;
                    }
                case (byte)'q': Memoize(U8(), Top()); break;
                case (byte)'r': Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)), Top()); break;
                case 0x94: Memoize(_memo.Count, Top()); break; // MEMOIZE
                case (byte)'h': Push(Recall(U8())); break;
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4)))); break;
                case (byte)'R': // REDUCE
                    {
                        var args = Pop(); var fn = Pop();
                        if (args is not object?[] a) throw Fail("REDUCE arguments are not a tuple");
                        Push(Call(fn, a)); break;
                    }
                case 0x81: // NEWOBJ
                    {
                        var args = Pop(); var cls = Pop();
                        if (args is not object?[] a) throw Fail("NEWOBJ arguments are not a tuple");
                        Push(Call(cls, a)); break;
                    }
                case (byte)'b': // BUILD
                    {
                        var state = Pop(); var obj = Top();
                        // OrderedDict gets '_metadata' and tensors their hooks as state: neither matters for the values.
                        if (obj is not (PickleDict or TorchTensor)) throw Fail($"BUILD on a {Describe(obj)} is not allowed (only OrderedDict and tensors)");
                        _ = state; break;
                    }
                case (byte)'Q': // BINPERSID
                    {
                        var pid = Pop();
                        if (pid is not object?[] t || t.Length < 1 || t[0] is not string s || s != "storage")
                            throw Fail("persistent id is not a tuple starting with 'storage'");
                        try { Push(_persistent(t)); }
                        catch (PthFormatException e) { throw Fail(e.Message); }
                        break;
                    }
                default:
                    throw Fail($"opcode 0x{op:x2} ({OpName(op)}) is not allowed by weights_only loading");
            }
        }
    }

    private static string OpName(byte op) => op switch
    {
        (byte)'I' => "INT", (byte)'P' => "PERSID", (byte)'L' => "LONG", (byte)'F' => "FLOAT", (byte)'S' => "STRING",
        (byte)'V' => "UNICODE", (byte)'i' => "INST", (byte)'o' => "OBJ", (byte)'g' => "GET", (byte)'p' => "PUT",
        (byte)'d' => "DICT", (byte)'l' => "LIST", (byte)'T' => "BINSTRING", (byte)'0' => "POP", (byte)'1' => "POP_MARK",
        (byte)'2' => "DUP", 0x82 => "EXT1", 0x83 => "EXT2", 0x84 => "EXT4", 0x8b => "LONG4", 0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS", 0x91 => "FROZENSET", 0x92 => "NEWOBJ_EX", 0x96 => "BYTEARRAY8", 0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER", 0x8e => "BINBYTES8", _ => "unknown",
    };

    private string Line()
    {
        int limit = Math.Min(_end, _pos + 256);
        int nl = Array.IndexOf(_buf, (byte)'\n', _pos, limit - _pos);
        if (nl < 0)
        {
            if (_isPrefix && limit == _end) throw new NeedMoreDataException();
            throw Fail("GLOBAL name is not terminated by a newline within 256 bytes");
        }
        var s = Encoding.ASCII.GetString(_buf, _pos, nl - _pos);
        _pos = nl + 1;
        return s;
    }

    private string Utf8(ReadOnlySpan<byte> b)
    {
        try { return new UTF8Encoding(false, true).GetString(b); }
        catch (DecoderFallbackException) { throw Fail("string is not valid UTF-8"); }
    }

    private List<object?> AsList(object? o) => o as List<object?> ?? throw Fail($"APPEND to a {Describe(o)}, not a list");
    private PickleDict AsDict(object? o) => o as PickleDict ?? throw Fail($"SETITEM on a {Describe(o)}, not a dict");

    private void SetItem(PickleDict d, object? k, object? v)
    {
        if (k is null) throw Fail("dict key None is not supported");
        if (k is List<object?> or PickleDict) throw Fail("unhashable dict key");
        d[k] = v;
    }

    private static string Describe(object? o) => o switch
    {
        null => "None", long => "int", double => "float", string => "str", bool => "bool", object?[] => "tuple",
        List<object?> => "list", PickleDict => "dict", TorchTensor => "tensor", PickleGlobal g => g.ToString(),
        _ => o.GetType().Name,
    };

    private object ResolveGlobal(string mod, string name)
    {
        string full = mod + "." + name;
        switch (full)
        {
            case "collections.OrderedDict":
            case "torch._utils._rebuild_tensor":
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor_v3":
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
            case "torch._tensor._rebuild_from_type_v2":
            case "torch.Size":
            case "torch.device":
            case "torch.Tensor":
            case "torch.nn.parameter.Parameter":
                return new PickleGlobal(mod, name);
            case "torch.UntypedStorage":
            case "torch.storage.UntypedStorage":
            case "torch.storage._UntypedStorage":
                return new StorageClassRef(TorchDType.U8, true, full);
        }
        if ((mod == "torch" || mod == "torch.cuda") && name.EndsWith("Storage", StringComparison.Ordinal))
        {
            if (TorchDTypes.TryFromStorageClass(name, out var dt)) return new StorageClassRef(dt, false, full);
            if (name.StartsWith("Complex", StringComparison.Ordinal) || name.StartsWith("Q", StringComparison.Ordinal))
                throw Fail($"storage class {full} is allowed by torch but not supported by this reader (no complex/quantized dtypes)");
        }
        if (mod == "torch" && TorchDTypes.TryFromTorchAttribute(name, out var dtype)) return dtype;
        throw Fail($"global '{full}' is not allowed (weights_only loading accepts only tensors, storages and plain containers)");
    }

    private object? Call(object? fn, object?[] a)
    {
        if (fn is not PickleGlobal g) throw Fail($"cannot call a {Describe(fn)}");
        try
        {
            switch (g.ToString())
            {
                case "collections.OrderedDict":
                    {
                        var d = new PickleDict { IsOrderedDict = true };
                        if (a.Length == 1 && a[0] is List<object?> pairs)
                            foreach (var p in pairs)
                            {
                                if (p is not object?[] { Length: 2 } kv) throw Fail("OrderedDict argument is not a list of pairs");
                                SetItem(d, kv[0], kv[1]);
                            }
                        else if (a.Length != 0) throw Fail("OrderedDict called with unexpected arguments");
                        return d;
                    }
                case "torch._utils._rebuild_tensor":
                    Arity(g, a, 4, 4);
                    return Tensor(a[0], a[1], a[2], a[3], false, null);
                case "torch._utils._rebuild_tensor_v2":
                    Arity(g, a, 6, 7);
                    return Tensor(a[0], a[1], a[2], a[3], a[4] is true, null);
                case "torch._utils._rebuild_tensor_v3":
                    Arity(g, a, 7, 8);
                    if (a[6] is not TorchDType dt) throw Fail("_rebuild_tensor_v3 dtype argument is not a torch dtype");
                    return Tensor(a[0], a[1], a[2], a[3], a[4] is true, dt);
                case "torch._utils._rebuild_parameter":
                case "torch._utils._rebuild_parameter_with_state":
                    Arity(g, a, 3, 4);
                    return a[0] as TorchTensor ?? throw Fail($"{g} argument is not a tensor");
                case "torch._tensor._rebuild_from_type_v2":
                    Arity(g, a, 4, 4);
                    if (a[2] is not object?[] inner) throw Fail("_rebuild_from_type_v2 arguments are not a tuple");
                    return Call(a[0], inner);
                case "torch.Size":
                    {
                        Arity(g, a, 0, 1);
                        var dims = a.Length == 0 ? Array.Empty<object?>() : a[0] as object?[] ?? throw Fail("torch.Size argument is not a tuple");
                        foreach (var d in dims) if (d is not long) throw Fail("torch.Size holds a non-integer");
                        return (object?[])dims.Clone();
                    }
                case "torch.device":
                    Arity(g, a, 1, 2);
                    if (a[0] is not string type) throw Fail("torch.device argument is not a string");
                    return a.Length == 2 && a[1] is long idx ? $"{type}:{idx}" : type;
                default:
                    throw Fail($"global '{g}' cannot be called");
            }
        }
        catch (PthFormatException e) when (!e.Message.StartsWith(_file + ": pickle byte", StringComparison.Ordinal))
        {
            throw Fail(e.Message);
        }
    }

    private void Arity(PickleGlobal g, object?[] a, int min, int max)
    {
        if (a.Length < min || a.Length > max) throw Fail($"{g} called with {a.Length} arguments");
    }

    private TorchTensor Tensor(object? storage, object? offset, object? size, object? stride, bool requiresGrad, TorchDType? dtype)
    {
        if (storage is not StorageRef sr) throw Fail("tensor storage argument is not a persistent storage");
        if (offset is not long off) throw Fail("tensor storage offset is not an int");
        var shape = Ints(size, "size");
        var strides = Longs(stride, "stride");
        foreach (var s in shape) if (s > int.MaxValue) throw Fail($"tensor dimension {s} is too large");
        var dt = dtype ?? sr.DType;
        return new TorchTensor(sr.Storage, dt, off + sr.ElementOffset, Array.ConvertAll(shape, x => (int)x), strides, requiresGrad);
    }

    private long[] Ints(object? o, string what)
    {
        if (o is not object?[] t) throw Fail($"tensor {what} is not a tuple");
        if (t.Length > 64) throw Fail($"tensor {what} has {t.Length} dimensions");
        var r = new long[t.Length];
        for (int i = 0; i < t.Length; i++) r[i] = t[i] is long v ? v : throw Fail($"tensor {what} holds a non-integer");
        return r;
    }

    private long[] Longs(object? o, string what) => Ints(o, what);

    // Rejects cyclic or absurdly deep trees so that recursive consumers (printing, JSON) stay safe.
    private void CheckShape(object? root)
    {
        var state = new Dictionary<object, bool>(ReferenceEqualityComparer.Instance); // false = on path, true = done
        var stack = new Stack<(object node, IEnumerator<object?> children)>();
        void Enter(object? o)
        {
            IEnumerable<object?>? kids = o switch
            {
                List<object?> l => l,
                object?[] t => t,
                PickleDict d => d.SelectMany(kv => new[] { kv.Key, kv.Value }),
                _ => null,
            };
            if (kids is null) return;
            if (state.TryGetValue(o!, out var done))
            {
                if (!done) throw Fail("the object graph contains a cycle");
                return;
            }
            if (stack.Count >= MaxDepth) throw Fail($"containers nest deeper than {MaxDepth} levels");
            state[o!] = false;
            stack.Push((o!, kids.GetEnumerator()));
        }
        Enter(root);
        while (stack.Count > 0)
        {
            var (node, it) = stack.Peek();
            if (it.MoveNext()) Enter(it.Current);
            else { state[node] = true; stack.Pop(); }
        }
    }
}

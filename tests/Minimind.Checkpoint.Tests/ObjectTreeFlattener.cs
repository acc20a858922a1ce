using System.Numerics;

namespace Minimind.Checkpoint.Tests;

/// <summary>Flattens an unpickled tree exactly as tools/pth/make_fixtures.py flattens torch's view of it.</summary>
internal static class ObjectTreeFlattener
{
    public sealed record Node(string Kind, object? Value);

    public static Dictionary<string, Node> Flatten(object? root)
    {
        var r = new Dictionary<string, Node>(StringComparer.Ordinal);
        Walk(root, "", r);
        return r;
    }

    private static string Join(string path, string seg) => path.Length == 0 ? seg : path + "/" + seg;

    private static void Walk(object? o, string path, Dictionary<string, Node> r)
    {
        switch (o)
        {
            case TorchTensor t: r[path] = new Node("tensor", t); break;
            case PickleDict d:
                r[path] = new Node(d.IsOrderedDict ? "odict" : "dict", d.Keys.Select(Seg).ToList());
                foreach (var kv in d) Walk(kv.Value, Join(path, Seg(kv.Key)), r);
                break;
            case List<object?> l:
                r[path] = new Node("list", l.Count);
                for (int i = 0; i < l.Count; i++) Walk(l[i], Join(path, $"[{i}]"), r);
                break;
            case object?[] t:
                r[path] = new Node("tuple", t.Length);
                for (int i = 0; i < t.Length; i++) Walk(t[i], Join(path, $"[{i}]"), r);
                break;
            case bool b: r[path] = new Node("bool", b); break;
            case long v: r[path] = new Node("int", v.ToString()); break;
            case BigInteger v: r[path] = new Node("int", v.ToString()); break;
            case double v: r[path] = new Node("float", BitConverter.DoubleToInt64Bits(v).ToString("x16")); break;
            case string s: r[path] = new Node("str", s); break;
            case null: r[path] = new Node("none", null); break;
            default: throw new InvalidOperationException($"unexpected {o.GetType().Name} at '{path}'");
        }
    }

    private static string Seg(object k) => k switch
    {
        string s => s,
        long v => "#" + v,
        _ => throw new InvalidOperationException("unexpected key " + k),
    };
}

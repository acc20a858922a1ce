using System.Numerics;

namespace Minimind.Training.Rl.Python;

/// <summary>
/// A Python value as MiniMind's agent code sees one: what <c>json.loads</c> returns (None, bool, int of any size,
/// float, str, list, dict with str keys) and what its mock tools compute. Gives Python's truthiness, <c>str()</c>,
/// and equality (1 == 1.0 == True) where MiniMind's code relies on them.
/// </summary>
public abstract record PyValue
{
    /// <summary>Python's <c>bool(x)</c>.</summary>
    public abstract bool Truthy { get; }

    /// <summary>
    /// Python's <c>str(x)</c> of a scalar (None, bool, int, float, str). Containers throw
    /// <see cref="PyError"/>: their repr is not needed by anything this project reproduces.
    /// </summary>
    public abstract string Str();

    /// <summary>The numeric value of None/bool/int/float for equality, or null.</summary>
    internal virtual (BigInteger? Int, double? Float)? Number => null;

    /// <summary>Python's <c>a == b</c> for scalars (numbers across bool/int/float, strings ordinally, None); containers structurally.</summary>
    public static bool PyEquals(PyValue a, PyValue b)
    {
        if (a.Number is { } x && b.Number is { } y)
        {
            if (x.Int is { } xi && y.Int is { } yi) return xi == yi;
            return PyNumbers.Compare(a, b) == 0;
        }
        return (a, b) switch
        {
            (PyStr s, PyStr t) => string.Equals(s.Value, t.Value, StringComparison.Ordinal),
            (PyNone, PyNone) => true,
            (PyList l, PyList m) => l.Items.Count == m.Items.Count && l.Items.Zip(m.Items).All(p => PyEquals(p.First, p.Second)),
            (PyDict d, PyDict e) => d.Items.Count == e.Items.Count && d.Items.All(kv => e.Get(kv.Key) is { } v && PyEquals(kv.Value, v)),
            _ => false,
        };
    }

    /// <summary>Python's None.</summary>
    public static readonly PyValue None = new PyNone();
}

/// <summary>An error Python would raise (TypeError, ValueError, OverflowError, ZeroDivisionError...): the tool call fails.</summary>
public sealed class PyError(string message) : Exception(message);

/// <summary>None.</summary>
public sealed record PyNone : PyValue
{
    public override bool Truthy => false;
    public override string Str() => "None";
}

/// <summary>True or False (an int in arithmetic, as in Python).</summary>
public sealed record PyBool(bool Value) : PyValue
{
    public override bool Truthy => Value;
    public override string Str() => Value ? "True" : "False";
    internal override (BigInteger? Int, double? Float)? Number => (Value ? BigInteger.One : BigInteger.Zero, null);
}

/// <summary>An int of any size.</summary>
public sealed record PyInt(BigInteger Value) : PyValue
{
    /// <summary>Python 3.11's limit on int → str conversion (sys.get_int_max_str_digits()).</summary>
    public const int MaxStrDigits = 4300;
    public override bool Truthy => !Value.IsZero;
    public override string Str()
    {
        string s = Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (s.TrimStart('-').Length > MaxStrDigits)
            throw new PyError($"Exceeds the limit ({MaxStrDigits} digits) for integer string conversion");
        return s;
    }
    internal override (BigInteger? Int, double? Float)? Number => (Value, null);
}

/// <summary>A float (IEEE double).</summary>
public sealed record PyFloat(double Value) : PyValue
{
    public override bool Truthy => Value != 0;
    public override string Str() => Minimind.Model.Chat.Jinja.PyFormat.FloatRepr(Value);
    internal override (BigInteger? Int, double? Float)? Number => (null, Value);
}

/// <summary>A str.</summary>
public sealed record PyStr(string Value) : PyValue
{
    public override bool Truthy => Value.Length > 0;
    public override string Str() => Value;
}

/// <summary>A list.</summary>
public sealed record PyList(List<PyValue> Items) : PyValue
{
    public override bool Truthy => Items.Count > 0;
    public override string Str() => throw new PyError("str() of a list is not reproduced");
}

/// <summary>A dict with str keys in insertion order (a repeated key keeps its first position and takes the last value, as json.loads).</summary>
public sealed record PyDict(List<KeyValuePair<string, PyValue>> Items) : PyValue
{
    public override bool Truthy => Items.Count > 0;
    public override string Str() => throw new PyError("str() of a dict is not reproduced");

    /// <summary><c>d.get(key)</c>: the value, or null when absent.</summary>
    public PyValue? Get(string key)
    {
        foreach (var kv in Items) if (kv.Key == key) return kv.Value;
        return null;
    }

    /// <summary><c>d.get(key, default)</c>.</summary>
    public PyValue Get(string key, PyValue fallback) => Get(key) ?? fallback;

    /// <summary>Builds a dict from pairs (later pairs of a repeated key overwrite in place).</summary>
    public static PyDict Of(params (string Key, PyValue Value)[] pairs)
    {
        var d = new PyDict(new List<KeyValuePair<string, PyValue>>());
        foreach (var (k, v) in pairs) d.Set(k, v);
        return d;
    }

    /// <summary><c>d[key] = value</c>.</summary>
    public void Set(string key, PyValue value)
    {
        for (int i = 0; i < Items.Count; i++)
            if (Items[i].Key == key) { Items[i] = new(key, value); return; }
        Items.Add(new(key, value));
    }
}

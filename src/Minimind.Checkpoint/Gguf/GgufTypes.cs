namespace Minimind.Checkpoint;

/// <summary>GGUF metadata value types (the numbers in the file).</summary>
public enum GgufValueType : uint
{
    /// <summary>uint8.</summary>
    U8 = 0,
    /// <summary>int8.</summary>
    I8 = 1,
    /// <summary>uint16.</summary>
    U16 = 2,
    /// <summary>int16.</summary>
    I16 = 3,
    /// <summary>uint32.</summary>
    U32 = 4,
    /// <summary>int32.</summary>
    I32 = 5,
    /// <summary>float32.</summary>
    F32 = 6,
    /// <summary>bool (one byte).</summary>
    Bool = 7,
    /// <summary>string: uint64 length + UTF-8 bytes.</summary>
    String = 8,
    /// <summary>array: element type, uint64 count, elements.</summary>
    Array = 9,
    /// <summary>uint64.</summary>
    U64 = 10,
    /// <summary>int64.</summary>
    I64 = 11,
    /// <summary>float64.</summary>
    F64 = 12,
}

/// <summary>The ggml tensor types this project writes (and names when reading others).</summary>
public enum GgmlType : uint
{
    /// <summary>float32.</summary>
    F32 = 0,
    /// <summary>float16.</summary>
    F16 = 1,
    /// <summary>bfloat16.</summary>
    BF16 = 30,
}

/// <summary>One metadata entry: its type, and the value (a .NET number, bool, string, or an array of those).</summary>
/// <param name="Type">The value type (for arrays: <see cref="GgufValueType.Array"/>).</param>
/// <param name="ElementType">For arrays, the element type.</param>
/// <param name="Value">long/ulong/double/bool/string, or object[] for arrays.</param>
public sealed record GgufValue(GgufValueType Type, GgufValueType ElementType, object Value)
{
    /// <summary>A string.</summary>
    public static GgufValue Of(string s) => new(GgufValueType.String, default, s);
    /// <summary>A uint32.</summary>
    public static GgufValue U32(long v) => new(GgufValueType.U32, default, v);
    /// <summary>An int32.</summary>
    public static GgufValue I32(long v) => new(GgufValueType.I32, default, v);
    /// <summary>A float32.</summary>
    public static GgufValue F32(double v) => new(GgufValueType.F32, default, v);
    /// <summary>A bool.</summary>
    public static GgufValue Bool(bool v) => new(GgufValueType.Bool, default, v);
    /// <summary>An array of strings.</summary>
    public static GgufValue Strings(IEnumerable<string> v) => new(GgufValueType.Array, GgufValueType.String, v.Cast<object>().ToArray());
    /// <summary>An array of int32.</summary>
    public static GgufValue I32s(IEnumerable<int> v) => new(GgufValueType.Array, GgufValueType.I32, v.Select(x => (object)(long)x).ToArray());

    /// <summary>Short text for inspect (arrays summarised).</summary>
    public override string ToString() => Value switch
    {
        object[] a => $"[{ElementType.ToString().ToLowerInvariant()} × {a.Length}{(a.Length > 0 ? ": " + string.Join(", ", a.Take(4).Select(Short)) + (a.Length > 4 ? ", ..." : "") : "")}]",
        _ => Short(Value),
    };

    private static string Short(object v) => v switch
    {
        string s => "\"" + (s.Length > 60 ? s[..60] + "…" : s).Replace("\n", "\\n") + "\"",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

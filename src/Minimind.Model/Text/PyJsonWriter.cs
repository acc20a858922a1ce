using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Minimind.Model.Chat.Jinja;

namespace Minimind.Model.Text;

/// <summary>
/// Python's <c>json.dumps</c> output, said once for every value model (the chat template's values, the RL agent's
/// Python values, a parsed <see cref="JsonElement"/>): the caller walks its values in the key order it needs and this
/// writer lays them out as <c>json.dumps(v, ensure_ascii=..., indent=..., separators=...)</c> would: item and key
/// separators (", " and ": " by default; "," and ": " with an indent), one line per item with an indent, empty
/// containers as [] and {}, floats as <c>repr</c> with NaN/Infinity/-Infinity, ints exact at any size, and strings
/// escaped as json's encoder does (with <c>ensure_ascii</c>, everything outside printable ASCII as \uXXXX, so a
/// character above U+FFFF is its two surrogates and an unpaired surrogate its own escape).
/// Checked against /usr/bin/python3's json.dumps (PyJsonWriterTests).
/// </summary>
public sealed class PyJsonWriter
{
    private readonly StringBuilder _sb = new();
    private readonly int? _indent;
    private readonly string _itemSep, _keySep;
    private readonly bool _ensureAscii;
    // Items written so far in each open list or dict (innermost last); a key and its value count as one item.
    private readonly List<int> _open = new();
    private bool _afterKey;

    /// <summary>A writer for <c>json.dumps(..., ensure_ascii=<paramref name="ensureAscii"/>, indent=<paramref name="indent"/>,
    /// separators=(<paramref name="itemSep"/>, <paramref name="keySep"/>))</c>; null separators take Python's defaults.</summary>
    public PyJsonWriter(int? indent = null, string? itemSep = null, string? keySep = null, bool ensureAscii = false)
    {
        _indent = indent;
        _itemSep = itemSep ?? (indent is null ? ", " : ",");
        _keySep = keySep ?? ": ";
        _ensureAscii = ensureAscii;
    }

    /// <summary><c>json.dumps(json.loads(raw text of <paramref name="e"/>), ...)</c>: keys in their order (a repeated key
    /// at its first place with its last value), integer literals exact, other numbers as the floats json.loads reads.</summary>
    public static string Dumps(JsonElement e, int? indent = null, string? itemSep = null, string? keySep = null, bool ensureAscii = false)
    {
        var w = new PyJsonWriter(indent, itemSep, keySep, ensureAscii);
        w.Element(e);
        return w.ToString();
    }

    /// <summary>The text written so far.</summary>
    public override string ToString() => _sb.ToString();

    /// <summary><c>None</c>.</summary>
    public void Null() { BeforeValue(); _sb.Append("null"); }

    /// <summary><c>True</c>/<c>False</c>.</summary>
    public void Bool(bool b) { BeforeValue(); _sb.Append(b ? "true" : "false"); }

    /// <summary>An int.</summary>
    public void Int(long n) { BeforeValue(); _sb.Append(n.ToString(CultureInfo.InvariantCulture)); }

    /// <summary>An int of any size.</summary>
    public void Int(BigInteger n) { BeforeValue(); _sb.Append(n.ToString(CultureInfo.InvariantCulture)); }

    /// <summary>A float: its <c>repr</c>, or NaN, Infinity, -Infinity (json's allow_nan default).</summary>
    public void Float(double d)
    {
        BeforeValue();
        _sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity"
            : PyFormat.FloatRepr(d));
    }

    /// <summary>A str.</summary>
    public void String(string s) { BeforeValue(); Quote(s); }

    /// <summary>Opens a list; write its items, then <see cref="EndList"/>.</summary>
    public void StartList() { BeforeValue(); _sb.Append('['); _open.Add(0); }

    /// <summary>Closes the innermost list.</summary>
    public void EndList() => Close(']');

    /// <summary>Opens a dict; write <see cref="Key"/> and a value per item, then <see cref="EndDict"/>.</summary>
    public void StartDict() { BeforeValue(); _sb.Append('{'); _open.Add(0); }

    /// <summary>A dict key; the next value written is its value.</summary>
    public void Key(string key)
    {
        BeforeValue();
        Quote(key);
        _sb.Append(_keySep);
        _afterKey = true;
    }

    /// <summary>Closes the innermost dict.</summary>
    public void EndDict() => Close('}');

    /// <summary>Writes a parsed JSON value (see <see cref="Dumps(JsonElement, int?, string?, string?, bool)"/>).</summary>
    public void Element(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                // json.loads keeps a repeated key at its first place with its last value.
                var items = new OrderedDictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject()) items[p.Name] = p.Value;
                StartDict();
                foreach (var (k, v) in items) { Key(k); Element(v); }
                EndDict();
                break;
            case JsonValueKind.Array:
                StartList();
                foreach (var v in e.EnumerateArray()) Element(v);
                EndList();
                break;
            case JsonValueKind.String: String(e.GetString()!); break;
            case JsonValueKind.Number:
                // json.loads keeps integer literals exact and reads the others as float.
                string raw = e.GetRawText();
                if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0) Int(BigInteger.Parse(raw, CultureInfo.InvariantCulture));
                else Float(e.GetDouble());
                break;
            case JsonValueKind.True: Bool(true); break;
            case JsonValueKind.False: Bool(false); break;
            default: Null(); break;
        }
    }

    // The separator and line break before an item (none before a dict value: its key wrote them).
    private void BeforeValue()
    {
        if (_afterKey) { _afterKey = false; return; }
        if (_open.Count == 0) return;
        if (_open[^1]++ > 0) _sb.Append(_itemSep);
        NewLine(_open.Count);
    }

    private void Close(char bracket)
    {
        int items = _open[^1];
        _open.RemoveAt(_open.Count - 1);
        if (items > 0) NewLine(_open.Count);
        _sb.Append(bracket);
    }

    private void NewLine(int level)
    {
        if (_indent is { } n) _sb.Append('\n').Append(' ', n * level);
    }

    // json's encoder: '"', '\\' and the control characters below U+0020 always; with ensure_ascii everything outside
    // U+0020..U+007E, UTF-16 unit by unit (lower-case hex, as Python writes it).
    private void Quote(string s)
    {
        _sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': _sb.Append("\\\""); break;
                case '\\': _sb.Append("\\\\"); break;
                case '\n': _sb.Append("\\n"); break;
                case '\r': _sb.Append("\\r"); break;
                case '\t': _sb.Append("\\t"); break;
                case '\b': _sb.Append("\\b"); break;
                case '\f': _sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (_ensureAscii && c > 0x7E)) _sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else _sb.Append(c);
                    break;
            }
        }
        _sb.Append('"');
    }
}

using System.Globalization;
using System.Text;
using Minimind.Model.Text;

namespace Minimind.Model.Chat.Jinja;

/// <summary>
/// Python's text forms of template values: <c>str()</c> (what <c>{{ x }}</c> prints), <c>repr()</c> (inside
/// containers), and <c>json.dumps(x, ensure_ascii=False, ...)</c> (HuggingFace's <c>tojson</c> filter), with
/// Python's shortest-round-trip float repr (<c>1.0</c>, <c>1e-07</c>, <c>1e+16</c>).
/// </summary>
public static class PyFormat
{
    /// <summary>Python <c>str(value)</c>; Undefined prints as empty.</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        string s => s,
        JinjaUndefined => "",
        _ => Repr(v),
    };

    /// <summary>Python <c>repr(value)</c>.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(FloatRepr(d)); break;
            case string s: AppendStrRepr(sb, s); break;
            case JinjaUndefined: break;
            case List<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++) { if (i > 0) sb.Append(", "); AppendRepr(sb, list[i]); }
                sb.Append(']');
                break;
            case OrderedDictionary<string, object?> dict:
            {
                sb.Append('{');
                bool first = true;
                foreach (var (k, x) in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStrRepr(sb, k); sb.Append(": "); AppendRepr(sb, x);
                }
                sb.Append('}');
                break;
            }
            case JinjaNamespace: sb.Append("<Namespace>"); break;
            default: throw new JinjaException($"cannot print a value of type {v.GetType().Name}");
        }
    }

    // Python picks single quotes unless the text has ' and no ".
    private static void AppendStrRepr(StringBuilder sb, string s)
    {
        char q = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(q);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == q || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, s[i + 1]);
                if (IsPrintable(cp)) sb.Append(c).Append(s[i + 1]); else sb.Append(CultureInfo.InvariantCulture, $"\\U{cp:x8}");
                i++;
            }
            else if (IsPrintable(c)) sb.Append(c);
            else if (c < 0x100) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }
        sb.Append(q);
    }

    // Python's str.isprintable: not Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs other than the space.
    private static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
            or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, scientific below 1e-4 and from 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        string sign = d < 0 ? "-" : "";
        // Shortest round-trip digits and decimal exponent from .NET's "R" form.
        string shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        string mant = shortest, expPart = "0";
        int e = shortest.IndexOfAny(new[] { 'E', 'e' });
        if (e >= 0) { mant = shortest[..e]; expPart = shortest[(e + 1)..]; }
        int exp10 = int.Parse(expPart, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mant.IndexOf('.');
        string digits = dot < 0 ? mant : mant[..dot] + mant[(dot + 1)..];
        int decpt = (dot < 0 ? mant.Length : dot) + exp10; // value = 0.digits × 10^decpt
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; decpt--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        if (decpt > 16 || decpt < -3)
        {
            string m = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            int x = decpt - 1;
            return sign + m + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }
        if (decpt <= 0) return sign + "0." + new string('0', -decpt) + digits;
        if (decpt >= digits.Length) return sign + digits + new string('0', decpt - digits.Length) + ".0";
        return sign + digits[..decpt] + "." + digits[decpt..];
    }

    /// <summary>
    /// The <c>tojson</c> filter: <c>json.dumps(v, ensure_ascii=ensureAscii, indent=indent, separators=..., sort_keys=sortKeys)</c>
    /// over template values (Python's defaults are ", " and ": " without indent, "," and ": " with it).
    /// </summary>
    public static string JsonDumps(object? v, int? indent = null, bool sortKeys = false, string? itemSep = null, string? keySep = null,
        bool ensureAscii = false)
    {
        var w = new PyJsonWriter(indent, itemSep, keySep, ensureAscii);
        WriteJson(w, v, sortKeys);
        return w.ToString();
    }

    private static void WriteJson(PyJsonWriter w, object? v, bool sortKeys)
    {
        switch (v)
        {
            case null: w.Null(); break;
            case bool b: w.Bool(b); break;
            case long l: w.Int(l); break;
            case double d: w.Float(d); break;
            case string s: w.String(s); break;
            case List<object?> list:
                w.StartList();
                foreach (var x in list) WriteJson(w, x, sortKeys);
                w.EndList();
                break;
            case OrderedDictionary<string, object?> dict:
                w.StartDict();
                IEnumerable<KeyValuePair<string, object?>> items = sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal) : dict;
                foreach (var (k, x) in items)
                {
                    w.Key(k);
                    WriteJson(w, x, sortKeys);
                }
                w.EndDict();
                break;
            case JinjaUndefined u: throw new JinjaException($"tojson: '{u.Name}' is undefined (Object of type Undefined is not JSON serializable)");
            default: throw new JinjaException($"tojson: Object of type {v.GetType().Name} is not JSON serializable");
        }
    }
}

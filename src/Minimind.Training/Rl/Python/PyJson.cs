using System.Globalization;
using System.Numerics;
using System.Text;
using Minimind.Model.Text;

namespace Minimind.Training.Rl.Python;

/// <summary>
/// Python's <c>json.loads</c> (ints of any size, NaN/Infinity, a repeated key keeping its first place and last value,
/// no trailing commas, single quotes or comments) and <c>json.dumps(x, ensure_ascii=False)</c> (", " and ": "
/// separators, floats as repr, NaN/Infinity, control characters escaped as \u00XX).
/// </summary>
public static class PyJson
{
    /// <summary>Parses <paramref name="text"/>; throws <see cref="PyError"/> (Python's JSONDecodeError) on anything json.loads refuses.</summary>
    public static PyValue Loads(string text)
    {
        int i = 0;
        SkipWs(text, ref i);
        var v = Value(text, ref i, 0);
        SkipWs(text, ref i);
        if (i != text.Length) throw new PyError($"Extra data at char {i}");
        return v;
    }

    private static void SkipWs(string s, ref int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t' or '\n' or '\r') i++;
    }

    private static PyValue Value(string s, ref int i, int depth)
    {
        if (depth > 900) throw new PyError("maximum recursion depth exceeded");
        if (i >= s.Length) throw new PyError($"Expecting value at char {i}");
        char c = s[i];
        switch (c)
        {
            case '"': return new PyStr(Str(s, ref i));
            case '{':
            {
                i++;
                var d = new PyDict(new List<KeyValuePair<string, PyValue>>());
                SkipWs(s, ref i);
                if (i < s.Length && s[i] == '}') { i++; return d; }
                while (true)
                {
                    SkipWs(s, ref i);
                    if (i >= s.Length || s[i] != '"') throw new PyError($"Expecting property name enclosed in double quotes at char {i}");
                    string key = Str(s, ref i);
                    SkipWs(s, ref i);
                    if (i >= s.Length || s[i] != ':') throw new PyError($"Expecting ':' delimiter at char {i}");
                    i++;
                    SkipWs(s, ref i);
                    d.Set(key, Value(s, ref i, depth + 1));
                    SkipWs(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == '}') { i++; return d; }
                    throw new PyError($"Expecting ',' delimiter at char {i}");
                }
            }
            case '[':
            {
                i++;
                var l = new List<PyValue>();
                SkipWs(s, ref i);
                if (i < s.Length && s[i] == ']') { i++; return new PyList(l); }
                while (true)
                {
                    SkipWs(s, ref i);
                    l.Add(Value(s, ref i, depth + 1));
                    SkipWs(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == ']') { i++; return new PyList(l); }
                    throw new PyError($"Expecting ',' delimiter at char {i}");
                }
            }
        }
        if (Lit(s, ref i, "null")) return PyValue.None;
        if (Lit(s, ref i, "true")) return new PyBool(true);
        if (Lit(s, ref i, "false")) return new PyBool(false);
        if (Lit(s, ref i, "NaN")) return new PyFloat(double.NaN);
        if (Lit(s, ref i, "Infinity")) return new PyFloat(double.PositiveInfinity);
        if (Lit(s, ref i, "-Infinity")) return new PyFloat(double.NegativeInfinity);
        // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
        int start = i, j = i;
        if (j < s.Length && s[j] == '-') j++;
        if (j < s.Length && s[j] == '0') j++;
        else if (j < s.Length && s[j] is >= '1' and <= '9') { while (j < s.Length && char.IsAsciiDigit(s[j])) j++; }
        else throw new PyError($"Expecting value at char {i}");
        bool isFloat = false;
        if (j + 1 < s.Length && s[j] == '.' && char.IsAsciiDigit(s[j + 1])) { isFloat = true; j += 2; while (j < s.Length && char.IsAsciiDigit(s[j])) j++; }
        if (j < s.Length && s[j] is 'e' or 'E')
        {
            int k = j + 1;
            if (k < s.Length && s[k] is '+' or '-') k++;
            if (k < s.Length && char.IsAsciiDigit(s[k])) { isFloat = true; j = k; while (j < s.Length && char.IsAsciiDigit(s[j])) j++; }
        }
        i = j;
        string num = s[start..j];
        return isFloat ? new PyFloat(double.Parse(num, NumberStyles.Float, CultureInfo.InvariantCulture))
            : new PyInt(BigInteger.Parse(num, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
    }

    private static bool Lit(string s, ref int i, string lit)
    {
        if (string.CompareOrdinal(s, i, lit, 0, lit.Length) != 0) return false;
        i += lit.Length;
        return true;
    }

    private static string Str(string s, ref int i)
    {
        var sb = new StringBuilder();
        i++; // opening quote
        while (true)
        {
            if (i >= s.Length) throw new PyError("Unterminated string");
            char c = s[i++];
            if (c == '"') return sb.ToString();
            if (c < 0x20) throw new PyError($"Invalid control character at char {i - 1}");
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= s.Length) throw new PyError("Unterminated string");
            char e = s[i++];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    int u = Hex4(s, i);
                    i += 4;
                    // a high surrogate followed by an escaped low one is one code point (json's scanstring)
                    if (u is >= 0xD800 and <= 0xDBFF && i + 6 <= s.Length && s[i] == '\\' && s[i + 1] == 'u')
                    {
                        int u2 = Hex4(s, i + 2);
                        if (u2 is >= 0xDC00 and <= 0xDFFF) { sb.Append((char)u).Append((char)u2); i += 6; break; }
                    }
                    sb.Append((char)u);
                    break;
                default: throw new PyError($"Invalid \\escape at char {i - 2}");
            }
        }
    }

    private static int Hex4(string s, int i)
    {
        if (i + 4 > s.Length || !int.TryParse(s.AsSpan(i, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v)
            || s.AsSpan(i, 4).ContainsAny('+', '-'))
            throw new PyError($"Invalid \\uXXXX escape at char {i}");
        return v;
    }

    /// <summary><c>json.dumps(value, ensure_ascii=False)</c>.</summary>
    public static string Dumps(PyValue value)
    {
        var w = new PyJsonWriter();
        Write(w, value);
        return w.ToString();
    }

    private static void Write(PyJsonWriter w, PyValue v)
    {
        switch (v)
        {
            case PyNone: w.Null(); break;
            case PyBool b: w.Bool(b.Value); break;
            case PyInt n: w.Int(n.Value); break;
            case PyFloat f: w.Float(f.Value); break;
            case PyStr s: w.String(s.Value); break;
            case PyList l:
                w.StartList();
                foreach (var x in l.Items) Write(w, x);
                w.EndList();
                break;
            case PyDict d:
                w.StartDict();
                foreach (var (k, x) in d.Items) { w.Key(k); Write(w, x); }
                w.EndDict();
                break;
        }
    }
}

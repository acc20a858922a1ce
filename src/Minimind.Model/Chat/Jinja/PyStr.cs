using System.Text;

namespace Minimind.Model.Chat.Jinja;

/// <summary>Python <c>str</c> semantics over .NET strings: code-point indexing, strip/split with Python's whitespace.</summary>
internal static class PyStr
{
    /// <summary>The code points of <paramref name="s"/> as one-character (or surrogate-pair) strings.</summary>
    public static List<string> CodePoints(string s)
    {
        var r = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { r.Add(s.Substring(i, 2)); i++; }
            else r.Add(s[i].ToString());
        }
        return r;
    }

    /// <summary>Python's <c>len(str)</c> (code points).</summary>
    public static int Length(string s) => Text.PythonText.Length(s);

    /// <summary>The indices <c>range(len)[start:stop:step]</c> selects (Python's <c>slice.indices</c>).</summary>
    public static IEnumerable<int> SliceIndices(int len, long? start, long? stop, long step, int line, string name)
    {
        if (step == 0) throw new JinjaException($"{name}:{line}: slice step cannot be zero");
        long lo, hi;
        if (step > 0)
        {
            lo = start is null ? 0 : start < 0 ? Math.Max(0, start.Value + len) : Math.Min(len, start.Value);
            hi = stop is null ? len : stop < 0 ? Math.Max(0, stop.Value + len) : Math.Min(len, stop.Value);
            for (long i = lo; i < hi; i += step) yield return (int)i;
        }
        else
        {
            lo = start is null ? len - 1 : start < 0 ? Math.Max(-1, start.Value + len) : Math.Min(len - 1, start.Value);
            hi = stop is null ? -1 : stop < 0 ? Math.Max(-1, stop.Value + len) : Math.Min(len - 1, stop.Value);
            for (long i = lo; i > hi; i += step) yield return (int)i;
        }
    }

    /// <summary><c>str.strip/lstrip/rstrip(chars)</c>; null chars = Python whitespace.</summary>
    public static string Strip(string s, string? chars, bool left, bool right)
    {
        bool Strippable(char c) => chars is null ? JinjaLexer.IsPySpace(c) : chars.Contains(c);
        int b = 0, e = s.Length;
        if (left) while (b < e && Strippable(s[b])) b++;
        if (right) while (e > b && Strippable(s[e - 1])) e--;
        return s[b..e];
    }

    /// <summary><c>str.split(sep, maxsplit)</c>; null sep splits on whitespace runs and drops empty pieces.</summary>
    public static List<object?> Split(string s, string? sep, long maxsplit)
    {
        var r = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && JinjaLexer.IsPySpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxsplit >= 0 && r.Count == maxsplit) { r.Add(Strip(s[i..], null, false, true)); break; }
                int j = i;
                while (j < s.Length && !JinjaLexer.IsPySpace(s[j])) j++;
                r.Add(s[i..j]);
                i = j;
            }
            return r;
        }
        if (sep.Length == 0) throw new ArgumentException("empty separator");
        int from = 0;
        while (maxsplit < 0 || r.Count < maxsplit)
        {
            int k = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (k < 0) break;
            r.Add(s[from..k]);
            from = k + sep.Length;
        }
        r.Add(s[from..]);
        return r;
    }

    /// <summary>Python's <c>str.title()</c>: upper after a non-letter, lower after a letter.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            sb.Append(prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevCased = char.IsLetter(c);
        }
        return sb.ToString();
    }
}

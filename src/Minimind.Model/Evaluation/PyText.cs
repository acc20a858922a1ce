using System.Text;

namespace Minimind.Model.Evaluation;

/// <summary>
/// The few Python <c>str</c> operations lm-evaluation-harness applies to prompts and choices, with Python's
/// semantics where .NET's differ: the whitespace set of <c>strip</c>/<c>rstrip</c>/<c>isspace</c> (Python also
/// strips U+001C..U+001F), <c>len</c> in code points (a CJK extension character is 2 UTF-16 units but 1 there),
/// and <c>capitalize</c> (first character title-cased, the rest lower-cased).
/// </summary>
public static class PyText
{
    /// <summary>Python's <c>str.isspace</c> for one character (every whitespace character is in the BMP).</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Python's <c>s.rstrip()</c>.</summary>
    public static string RStrip(string s)
    {
        int end = s.Length;
        while (end > 0 && IsSpace(s[end - 1])) end--;
        return s[..end];
    }

    /// <summary>Python's <c>s.strip()</c>.</summary>
    public static string Strip(string s)
    {
        int start = 0;
        while (start < s.Length && IsSpace(s[start])) start++;
        return RStrip(s[start..]);
    }

    /// <summary>Python's <c>len(s)</c>: Unicode code points (a lone surrogate counts as one, as Python's surrogateescape would).</summary>
    public static int Length(string s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i++, n++)
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
        return n;
    }

    /// <summary><c>len(s.encode("utf-8"))</c>.</summary>
    public static int Utf8Length(string s) => Encoding.UTF8.GetByteCount(s);

    /// <summary>
    /// Python's <c>s.capitalize()</c>: the first character title-cased and every other one lower-cased (invariant
    /// culture). Python's full case mappings that change a string's length ('ß' → "Ss", 'İ' → "i̇") are not reproduced.
    /// </summary>
    public static string Capitalize(string s)
    {
        if (s.Length == 0) return s;
        int first = char.IsHighSurrogate(s[0]) && s.Length > 1 ? 2 : 1;
        return TitleCase(s[..first]) + s[first..].ToLowerInvariant();
    }

    // Upper case, except the four Latin digraphs whose title case is their own letter (ǅ ǈ ǋ ǲ).
    private static string TitleCase(string c) => c switch
    {
        "\u01C4" or "\u01C5" or "\u01C6" => "\u01C5",
        "\u01C7" or "\u01C8" or "\u01C9" => "\u01C8",
        "\u01CA" or "\u01CB" or "\u01CC" => "\u01CB",
        "\u01F1" or "\u01F2" or "\u01F3" => "\u01F2",
        _ => c.ToUpperInvariant(),
    };
}

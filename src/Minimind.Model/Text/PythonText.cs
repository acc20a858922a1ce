using System.Globalization;
using System.Text;

namespace Minimind.Model.Text;

/// <summary>
/// The few pieces of Python's text semantics that MiniMind's RL rewards rely on, on code points as Python sees a
/// <c>str</c> (a UTF-16 surrogate pair is one character, an unpaired surrogate one character of its own):
/// <c>len()</c>, <c>str.strip()</c>, <c>str.lower()</c> (full mapping: U+0130 → "i̇"; the final-sigma rule), and
/// <c>re</c>'s <c>\w</c> / <c>\s</c> for str patterns. Checked on every code point Python 3.11 (Unicode 14) assigns
/// against its own answers (tests/fixtures/rl/unicode.json); code points assigned after Unicode 14 follow .NET's data.
/// </summary>
public static class PythonText
{
    /// <summary>re's <c>\w</c> for str patterns: <c>str.isalnum()</c> or '_', i.e. the letter and number categories.</summary>
    public static bool IsWord(int cp)
    {
        if (cp < 0x80) return (uint)(cp - 'a') < 26 || (uint)(cp - 'A') < 26 || (uint)(cp - '0') < 10 || cp == '_';
        return Category(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
            _ => false,
        };
    }

    /// <summary><c>str.isspace()</c> (= re's <c>\s</c>): Python counts U+001C..U+001F, which .NET's IsWhiteSpace does not.</summary>
    public static bool IsSpace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D or >= 0x1C and <= 0x20 or 0x85 or 0xA0 or 0x1680 or >= 0x2000 and <= 0x200A
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    /// <summary><c>len(s)</c>: code points, not UTF-16 units.</summary>
    public static int Length(string s)
    {
        int n = 0;
        for (int i = 0; i < s.Length; i += Width(s, i)) n++;
        return n;
    }

    /// <summary><c>s.strip()</c>: Python's whitespace removed at both ends.</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSpace(s[start])) start++;
        while (end > start && IsSpace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary>
    /// <c>s.lower()</c>: each code point's full lowercase mapping (only U+0130 maps to two, "i" + U+0307), and capital
    /// sigma as CPython's handle_capital_sigma: ς when a cased letter precedes it and none follows (case-ignorable
    /// code points skipped on both sides), σ otherwise.
    /// </summary>
    public static string Lower(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length;)
        {
            int cp = CodePoint(s, i, out int w);
            if (cp == 0x130) sb.Append("i\u0307");
            else if (cp == 0x3A3) sb.Append(FinalSigma(s, i, i + w) ? '\u03C2' : '\u03C3');
            else if (cp < 0x80) sb.Append((uint)(cp - 'A') < 26 ? (char)(cp + 32) : (char)cp);
            else if (w == 1 && char.IsSurrogate(s[i])) sb.Append(s[i]);
            else sb.Append(Rune.ToLowerInvariant(new Rune(cp)).ToString());
            i += w;
        }
        return sb.ToString();
    }

    /// <summary><c>re.findall(r"\w+|[^\w\s]", text)</c>: runs of word characters, and every other non-space character alone.</summary>
    public static List<string> WordsAndSymbols(string text)
    {
        var tokens = new List<string>();
        for (int i = 0; i < text.Length;)
        {
            int cp = CodePoint(text, i, out int w);
            if (IsWord(cp))
            {
                int start = i;
                i += w;
                while (i < text.Length && IsWord(CodePoint(text, i, out int w2))) i += w2;
                tokens.Add(text[start..i]);
                continue;
            }
            if (!IsSpace(cp)) tokens.Add(text.Substring(i, w));
            i += w;
        }
        return tokens;
    }

    // CPython: \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})
    private static bool FinalSigma(string s, int at, int after)
    {
        int j = at;
        int before = -1;
        while (j > 0)
        {
            j -= j >= 2 && char.IsLowSurrogate(s[j - 1]) && char.IsHighSurrogate(s[j - 2]) ? 2 : 1;
            int cp = CodePoint(s, j, out _);
            if (!IsCaseIgnorable(cp)) { before = cp; break; }
        }
        if (before < 0 || !IsCased(before)) return false;
        for (int k = after; k < s.Length;)
        {
            int cp = CodePoint(s, k, out int w);
            if (!IsCaseIgnorable(cp)) return !IsCased(cp);
            k += w;
        }
        return true;
    }

    /// <summary>Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk and the word-break MidLetter/MidNumLet/Single_Quote marks.</summary>
    public static bool IsCaseIgnorable(int cp)
    {
        switch (cp)
        {
            case 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A:
                return true;
        }
        return Category(cp) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
    }

    /// <summary>Unicode's Cased: Lu, Ll, Lt and the Other_Lowercase / Other_Uppercase code points outside those.</summary>
    public static bool IsCased(int cp)
    {
        if (Category(cp) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
            return true;
        foreach (var (first, last) in OtherCased)
            if (cp >= first && cp <= last) return true;
        return false;
    }

    // Other_Lowercase and Other_Uppercase (PropList.txt) that are not Lm/Mn (those are case-ignorable, where cased never matters).
    private static readonly (int First, int Last)[] OtherCased =
    {
        (0xAA, 0xAA), (0xBA, 0xBA), (0x2160, 0x217F), (0x24B6, 0x24E9),
        (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189),
    };

    private static UnicodeCategory Category(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp);

    // The code point at i and its width in UTF-16 units (an unpaired surrogate is one code point, as in Python).
    private static int CodePoint(string s, int i, out int width)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(c, s[i + 1]);
        }
        width = 1;
        return c;
    }

    private static int Width(string s, int i) => char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
}

using System.Globalization;
using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// GPT-2's pre-tokenizer split, <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>,
/// evaluated on Unicode code points as the Rust Oniguruma regex in HF <c>tokenizers</c> does. .NET <c>Regex</c>
/// would see UTF-16 surrogate halves (astral letters would not be letters) and a different <c>\s</c>.
/// Here <c>\s</c> is U+0009–U+000D, U+0085 and the Zs/Zl/Zp categories (U+FEFF and U+001C–U+001F are not).
/// </summary>
public static class GptPreTokenizer
{
    /// <summary>Character class of one code point in the regex.</summary>
    public enum CharClass : byte
    {
        /// <summary>Anything else (<c>[^\s\p{L}\p{N}]</c>).</summary>
        Other = 0,
        /// <summary><c>\p{L}</c>.</summary>
        Letter = 1,
        /// <summary><c>\p{N}</c>.</summary>
        Number = 2,
        /// <summary><c>\s</c>.</summary>
        Space = 3,
    }

    private static readonly CharClass[] _bmp = BuildBmp();

    private static CharClass[] BuildBmp()
    {
        var t = new CharClass[0x10000];
        for (int c = 0; c < 0x10000; c++)
            t[c] = (c >= 0xD800 && c <= 0xDFFF) ? CharClass.Other : Classify(c);
        return t;
    }

    /// <summary>Class of the code point <paramref name="cp"/>.</summary>
    public static CharClass Classify(int cp)
    {
        if (cp < 0x10000 && _bmp is not null) return _bmp[cp];
        if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return CharClass.Space;
        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter: case UnicodeCategory.LowercaseLetter: case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter: case UnicodeCategory.OtherLetter:
                return CharClass.Letter;
            case UnicodeCategory.DecimalDigitNumber: case UnicodeCategory.LetterNumber: case UnicodeCategory.OtherNumber:
                return CharClass.Number;
            case UnicodeCategory.SpaceSeparator: case UnicodeCategory.LineSeparator: case UnicodeCategory.ParagraphSeparator:
                return CharClass.Space;
            default:
                return CharClass.Other;
        }
    }

    /// <summary>Appends the (start, length) char ranges of the pre-tokens of <paramref name="text"/>, in order.</summary>
    public static void Split(ReadOnlySpan<char> text, List<(int Start, int Length)> pieces)
    {
        int i = 0;
        while (i < text.Length)
        {
            int end = MatchAt(text, i);
            pieces.Add((i, end - i));
            i = end;
        }
    }

    // Code point at i and its width in chars; a lone surrogate counts as one "other" code point.
    private static CharClass At(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return Classify(char.ConvertToUtf32(c, s[i + 1]));
        }
        width = 1;
        return _bmp[c];
    }

    // End of the run of code points of class k starting at i (i itself may not be of class k).
    private static int RunEnd(ReadOnlySpan<char> s, int i, CharClass k)
    {
        while (i < s.Length)
        {
            if (At(s, i, out int w) != k) break;
            i += w;
        }
        return i;
    }

    /// <summary>End (exclusive) of the regex match starting at <paramref name="i"/>; the alternatives are tried in order.</summary>
    private static int MatchAt(ReadOnlySpan<char> s, int i)
    {
        char c = s[i];
        // 's|'t|'re|'ve|'m|'ll|'d (lower case only, as in GPT-2)
        if (c == '\'' && i + 1 < s.Length)
        {
            char d = s[i + 1];
            if (d is 's' or 't' or 'm' or 'd') return i + 2;
            if (i + 2 < s.Length)
            {
                char e = s[i + 2];
                if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) return i + 3;
            }
        }
        // " ?X+" for X in letter, number, other: the optional space is U+0020 only.
        int j = i;
        if (c == ' ' && i + 1 < s.Length) j = i + 1;
        var kj = At(s, j, out int wj);
        if (j != i && kj == CharClass.Space) { j = i; kj = CharClass.Space; }
        if (kj != CharClass.Space) return RunEnd(s, j + wj, kj);
        // \s+(?!\S) then \s+: a whitespace run followed by a non-space gives its last char to the next piece.
        int end = RunEnd(s, i, CharClass.Space);
        if (end == s.Length) return end;
        int last = end - 1; // whitespace code points are all in the BMP
        return last > i ? last : end;
    }
}

using System.Globalization;
using System.Text;

namespace Minimind.Model.Chat.Jinja;

/// <summary>Kinds of <see cref="JinjaToken"/>.</summary>
internal enum TokenKind { Text, VarStart, VarEnd, BlockStart, BlockEnd, Name, String, Int, Float, Op, Eof }

/// <summary>One lexed token; <see cref="Line"/> is 1-based in the template source.</summary>
internal readonly record struct JinjaToken(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits a template into text and tag tokens with jinja2's whitespace rules as HuggingFace configures them
/// (<c>trim_blocks</c>, <c>lstrip_blocks</c>, <c>-</c>/<c>+</c> modifiers, newlines normalised to \n, one
/// trailing newline dropped), and tag contents into expression tokens. Comments are dropped.
/// </summary>
internal static class JinjaLexer
{
    private static readonly string[] Ops =
    {
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|",
    };

    /// <summary>Python's str.isspace (also what jinja2's <c>\s</c> and <c>rstrip()</c> use).</summary>
    public static bool IsPySpace(char c) => Text.PythonText.IsSpace(c);

    public static List<JinjaToken> Lex(string source, string name)
    {
        source = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (source.EndsWith('\n')) source = source[..^1];
        var tokens = new List<JinjaToken>();
        var newlines = new List<int>();
        for (int i = 0; i < source.Length; i++) if (source[i] == '\n') newlines.Add(i);
        int LineAt(int offset) { int k = newlines.BinarySearch(offset); return (k < 0 ? ~k : k) + 1; }
        int pos = 0, line = 1;
        bool lineStarting = true, stripNextText = false;
        while (pos <= source.Length)
        {
            int start = NextTagStart(source, pos);
            string text = source[pos..(start < 0 ? source.Length : start)];
            if (stripNextText) text = LStrip(text);
            if (start < 0)
            {
                if (text.Length > 0) tokens.Add(new(TokenKind.Text, text, LineAt(pos)));
                break;
            }
            char kind = source[start + 1];
            char mod = start + 2 < source.Length ? source[start + 2] : '\0';
            if (mod == '-') text = RStrip(text);
            else if (kind != '{' && mod != '+')
            {
                // lstrip_blocks: only whitespace between the line start and a block/comment tag is removed
                int lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.Length && AllPySpace(text, lpos))
                    text = text[..lpos];
            }
            if (text.Length > 0) tokens.Add(new(TokenKind.Text, text, LineAt(pos)));
            line = LineAt(start);
            int p = start + 2 + (mod is '-' or '+' ? 1 : 0);
            if (kind == '#')
            {
                int end = source.IndexOf("#}", p, StringComparison.Ordinal);
                if (end < 0) throw new JinjaException($"{name}:{line}: unclosed comment '{{#'");
                bool minus = end > p && source[end - 1] == '-', plus = end > p && source[end - 1] == '+';
                pos = end + 2;
                (pos, lineStarting, stripNextText) = AfterTag(source, pos, minus, !plus);
                continue;
            }
            tokens.Add(new(kind == '{' ? TokenKind.VarStart : TokenKind.BlockStart, "", line));
            string close = kind == '{' ? "}}" : "%}";
            bool closedMinus = false, closedPlus = false;
            while (true)
            {
                while (p < source.Length && IsPySpace(source[p])) p++;
                line = LineAt(p);
                if (p >= source.Length) throw new JinjaException($"{name}:{line}: unclosed tag (expected '{close}')");
                if (source[p] is '-' or '+' && string.CompareOrdinal(source, p + 1, close, 0, 2) == 0) { closedMinus = source[p] == '-'; closedPlus = source[p] == '+'; p += 3; break; }
                if (string.CompareOrdinal(source, p, close, 0, 2) == 0) { p += 2; break; }
                p = LexExpressionToken(source, p, line, name, tokens);
            }
            tokens.Add(new(kind == '{' ? TokenKind.VarEnd : TokenKind.BlockEnd, "", line));
            (pos, lineStarting, stripNextText) = AfterTag(source, p, closedMinus, kind == '%' && !closedPlus);
        }
        tokens.Add(new(TokenKind.Eof, "", line));
        return tokens;
    }

    // After a tag: '-' strips all following whitespace (the next text), trim_blocks removes one newline.
    private static (int Pos, bool LineStarting, bool StripNext) AfterTag(string s, int pos, bool minus, bool trimBlock)
    {
        if (minus)
        {
            int q = pos;
            while (q < s.Length && IsPySpace(s[q])) q++;
            return (pos, q > pos && s[q - 1] == '\n', true);
        }
        if (trimBlock && pos < s.Length && s[pos] == '\n') return (pos + 1, true, false);
        return (pos, false, false);
    }

    private static int NextTagStart(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private static bool AllPySpace(string s, int from)
    {
        for (int i = from; i < s.Length; i++) if (!IsPySpace(s[i])) return false;
        return true;
    }

    private static string LStrip(string s)
    {
        int b = 0;
        while (b < s.Length && IsPySpace(s[b])) b++;
        return s[b..];
    }

    private static string RStrip(string s)
    {
        int e = s.Length;
        while (e > 0 && IsPySpace(s[e - 1])) e--;
        return s[..e];
    }

    private static int LexExpressionToken(string s, int p, int line, string name, List<JinjaToken> tokens)
    {
        char c = s[p];
        if (char.IsLetter(c) || c == '_')
        {
            int q = p;
            while (q < s.Length && (char.IsLetterOrDigit(s[q]) || s[q] == '_')) q++;
            tokens.Add(new(TokenKind.Name, s[p..q], line));
            return q;
        }
        if (char.IsAsciiDigit(c))
        {
            int q = p;
            while (q < s.Length && (char.IsAsciiDigit(s[q]) || s[q] == '_')) q++;
            bool isFloat = false;
            if (q + 1 < s.Length && s[q] == '.' && char.IsAsciiDigit(s[q + 1]))
            {
                isFloat = true; q++;
                while (q < s.Length && (char.IsAsciiDigit(s[q]) || s[q] == '_')) q++;
            }
            if (q < s.Length && s[q] is 'e' or 'E')
            {
                int r = q + 1;
                if (r < s.Length && s[r] is '+' or '-') r++;
                if (r < s.Length && char.IsAsciiDigit(s[r]))
                {
                    isFloat = true; q = r;
                    while (q < s.Length && char.IsAsciiDigit(s[q])) q++;
                }
            }
            tokens.Add(new(isFloat ? TokenKind.Float : TokenKind.Int, s[p..q].Replace("_", ""), line));
            return q;
        }
        if (c is '\'' or '"')
        {
            var sb = new StringBuilder();
            int q = p + 1;
            while (true)
            {
                if (q >= s.Length) throw new JinjaException($"{name}:{line}: unterminated string literal");
                char d = s[q];
                if (d == c) { q++; break; }
                if (d == '\\' && q + 1 < s.Length) { q = Unescape(s, q, sb); continue; }
                sb.Append(d); q++;
            }
            tokens.Add(new(TokenKind.String, sb.ToString(), line));
            return q;
        }
        foreach (var op in Ops)
            if (string.CompareOrdinal(s, p, op, 0, op.Length) == 0) { tokens.Add(new(TokenKind.Op, op, line)); return p + op.Length; }
        throw new JinjaException($"{name}:{line}: unexpected character '{c}' in a tag");
    }

    // Python's unicode-escape decoding of one escape at s[q] == '\\' (jinja2 unescapes literals that way).
    private static int Unescape(string s, int q, StringBuilder sb)
    {
        char e = s[q + 1];
        switch (e)
        {
            case 'n': sb.Append('\n'); return q + 2;
            case 't': sb.Append('\t'); return q + 2;
            case 'r': sb.Append('\r'); return q + 2;
            case '\\': sb.Append('\\'); return q + 2;
            case '\'': sb.Append('\''); return q + 2;
            case '"': sb.Append('"'); return q + 2;
            case 'a': sb.Append('\a'); return q + 2;
            case 'b': sb.Append('\b'); return q + 2;
            case 'f': sb.Append('\f'); return q + 2;
            case 'v': sb.Append('\v'); return q + 2;
            case '\n': return q + 2;
            case 'x' when q + 4 <= s.Length && IsHex(s, q + 2, 2): sb.Append((char)int.Parse(s.AsSpan(q + 2, 2), NumberStyles.HexNumber)); return q + 4;
            case 'u' when q + 6 <= s.Length && IsHex(s, q + 2, 4): sb.Append((char)int.Parse(s.AsSpan(q + 2, 4), NumberStyles.HexNumber)); return q + 6;
            case 'U' when q + 10 <= s.Length && IsHex(s, q + 2, 8): sb.Append(char.ConvertFromUtf32(int.Parse(s.AsSpan(q + 2, 8), NumberStyles.HexNumber))); return q + 10;
            default: sb.Append('\\'); return q + 1;
        }
    }

    private static bool IsHex(string s, int at, int n)
    {
        for (int i = 0; i < n; i++) if (!char.IsAsciiHexDigit(s[at + i])) return false;
        return true;
    }
}

using System.Globalization;
using System.Numerics;

namespace Minimind.Training.Rl.Python;

/// <summary>
/// <c>eval(expression, {"__builtins__": {}, "math": math})</c> — train_agent.py's calculate_math tool — for Python's
/// numeric expressions: int/float literals (underscores, 0x/0o/0b), True/False/None, + − * / // % ** ~ &lt;&lt; &gt;&gt; &amp; |,
/// comparisons (chained), not/and/or, parentheses, and the math module's constants and functions. Anything else a
/// Python expression can be (strings, lists, complex results, other names) raises <see cref="PyError"/>, as a name
/// without builtins does in MiniMind, so the call fails; the few valid Python expressions outside this subset (a
/// string or list literal, a negative number to a fractional power) therefore fail here where MiniMind's eval answers.
/// </summary>
public static class PyExpression
{
    /// <summary>Evaluates <paramref name="source"/>.</summary>
    public static PyValue Eval(string source)
    {
        var p = new Parser(Tokenize(source));
        var node = p.Expr();
        p.Expect(TokKind.End, "end of expression");
        return node();
    }

    private enum TokKind { Number, Name, Op, End }

    private readonly record struct Tok(TokKind Kind, string Text);

    private static List<Tok> Tokenize(string s)
    {
        var toks = new List<Tok>();
        int i = 0, depth = 0;
        while (true)
        {
            while (i < s.Length)
            {
                char c = s[i];
                if (c is ' ' or '\t' or '\f') { i++; continue; }
                if (c == '#') { while (i < s.Length && s[i] != '\n') i++; continue; }
                if (c is '\n' or '\r')
                {
                    // implicit line joining inside brackets; elsewhere only blank lines before or after the expression
                    if (depth == 0 && toks.Count > 0 && s.AsSpan(i).Trim().Length > 0 && s.AsSpan(i).TrimStart()[0] != '#')
                        throw new PyError("invalid syntax (newline)");
                    i++;
                    continue;
                }
                break;
            }
            if (i >= s.Length) { toks.Add(new Tok(TokKind.End, "")); return toks; }
            char ch = s[i];
            if (char.IsAsciiDigit(ch) || (ch == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1])))
            {
                int start = i;
                i = NumberEnd(s, i);
                if (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) throw new PyError($"invalid literal '{s[start..(i + 1)]}'");
                toks.Add(new Tok(TokKind.Number, s[start..i]));
                continue;
            }
            if (char.IsLetter(ch) || ch == '_')
            {
                int start = i;
                while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_')) i++;
                toks.Add(new Tok(TokKind.Name, s[start..i]));
                continue;
            }
            string? op = null;
            foreach (var cand in new[] { "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+", "-", "*", "/", "%", "~", "(", ")", ",", ".", "<", ">", "&", "|" })
                if (string.CompareOrdinal(s, i, cand, 0, cand.Length) == 0) { op = cand; break; }
            if (op is null) throw new PyError($"invalid character '{ch}'");
            if (op == "(") depth++;
            if (op == ")") depth--;
            toks.Add(new Tok(TokKind.Op, op));
            i += op.Length;
        }
    }

    // The end of the number literal at i (digits with single underscores between them; fraction; exponent; 0x/0o/0b).
    private static int NumberEnd(string s, int i)
    {
        if (s[i] == '0' && i + 1 < s.Length && "xXoObB".Contains(s[i + 1]))
        {
            i += 2;
            int n = 0;
            while (i < s.Length && (char.IsAsciiHexDigit(s[i]) || (s[i] == '_' && i + 1 < s.Length && char.IsAsciiHexDigit(s[i + 1])))) { i++; n++; }
            if (n == 0) throw new PyError("invalid literal");
            return i;
        }
        i = Digits(s, i);
        if (i < s.Length && s[i] == '.') i = Digits(s, i + 1);
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            int k = i + 1;
            if (k < s.Length && s[k] is '+' or '-') k++;
            if (k < s.Length && char.IsAsciiDigit(s[k])) i = Digits(s, k);
            else throw new PyError("invalid float literal");
        }
        if (i < s.Length && s[i] is 'j' or 'J') throw new PyError("complex numbers are not reproduced");
        return i;
    }

    private static int Digits(string s, int i)
    {
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || (s[i] == '_' && i > 0 && char.IsAsciiDigit(s[i - 1]) && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1])))) i++;
        return i;
    }

    private static PyValue Literal(string t)
    {
        string clean = t.Replace("_", "");
        if (clean.Length > 1 && clean[0] == '0' && "xXoObB".Contains(clean[1]))
        {
            int radix = char.ToLowerInvariant(clean[1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            BigInteger v = 0;
            foreach (char c in clean[2..])
            {
                int d = Convert.ToInt32(c.ToString(), 16);
                if (d >= radix) throw new PyError($"invalid digit '{c}' in literal");
                v = v * radix + d;
            }
            return new PyInt(v);
        }
        if (clean.IndexOfAny(['.', 'e', 'E']) >= 0) return new PyFloat(double.Parse(clean, NumberStyles.Float, CultureInfo.InvariantCulture));
        if (clean.Length > 1 && clean[0] == '0' && clean.Any(c => c != '0'))
            throw new PyError("leading zeros in decimal integer literals are not permitted");
        return new PyInt(BigInteger.Parse(clean, CultureInfo.InvariantCulture));
    }

    private sealed class Parser(List<Tok> toks)
    {
        private int _i;
        private Tok Peek => toks[_i];

        private bool Accept(string op)
        {
            if (Peek.Kind == TokKind.Op && Peek.Text == op || Peek.Kind == TokKind.Name && Peek.Text == op && op is "and" or "or" or "not")
            {
                _i++;
                return true;
            }
            return false;
        }

        public void Expect(TokKind kind, string what)
        {
            if (Peek.Kind != kind) throw new PyError($"invalid syntax: expected {what}, found '{Peek.Text}'");
            _i++;
        }

        public Func<PyValue> Expr() => Or();

        private Func<PyValue> Or()
        {
            var left = And();
            while (Accept("or"))
            {
                var l = left; var r = And();
                left = () => l() is var v && v.Truthy ? v : r();
            }
            return left;
        }

        private Func<PyValue> And()
        {
            var left = Not();
            while (Accept("and"))
            {
                var l = left; var r = Not();
                left = () => l() is var v && !v.Truthy ? v : r();
            }
            return left;
        }

        private Func<PyValue> Not()
        {
            if (Accept("not")) { var x = Not(); return () => new PyBool(!x().Truthy); }
            return Comparison();
        }

        private static readonly string[] CompareOps = { "<", ">", "<=", ">=", "==", "!=" };

        private Func<PyValue> Comparison()
        {
            var first = BitOr();
            var ops = new List<(string Op, Func<PyValue> Rhs)>();
            while (Peek.Kind == TokKind.Op && CompareOps.Contains(Peek.Text))
            {
                string op = Peek.Text;
                _i++;
                ops.Add((op, BitOr()));
            }
            if (ops.Count == 0) return first;
            return () =>
            {
                var a = first();
                foreach (var (op, rhs) in ops)
                {
                    var b = rhs();
                    if (!Compare(op, a, b)) return new PyBool(false);
                    a = b;
                }
                return new PyBool(true);
            };
        }

        private static bool Compare(string op, PyValue a, PyValue b)
        {
            if (op is "==" or "!=")
            {
                bool eq = a.Number is not null && b.Number is not null ? PyNumbers.Compare(a, b) == 0 : PyValue.PyEquals(a, b);
                return op == "==" ? eq : !eq;
            }
            int c = PyNumbers.Compare(a, b);
            if (c == int.MinValue) return false; // NaN
            return op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 };
        }

        private Func<PyValue> BitOr() => Binary(BitAnd, "|");
        private Func<PyValue> BitAnd() => Binary(Shift, "&");
        private Func<PyValue> Shift() => Binary(Arith, "<<", ">>");
        private Func<PyValue> Arith() => Binary(Term, "+", "-");
        private Func<PyValue> Term() => Binary(Factor, "*", "/", "//", "%");

        private Func<PyValue> Binary(Func<Func<PyValue>> next, params string[] ops)
        {
            var left = next();
            while (Peek.Kind == TokKind.Op && ops.Contains(Peek.Text))
            {
                string op = Peek.Text;
                _i++;
                var l = left; var r = next();
                left = op is "|" or "&" or "<<" or ">>" ? () => IntOp(op, l(), r()) : () => PyNumbers.Binary(op, l(), r());
            }
            return left;
        }

        private static PyValue IntOp(string op, PyValue a, PyValue b)
        {
            if (a is PyBool x && b is PyBool y && op is "|" or "&") return new PyBool(op == "|" ? x.Value | y.Value : x.Value & y.Value);
            var (ia, ib) = (Int(a), Int(b));
            return op switch
            {
                "|" => new PyInt(ia | ib),
                "&" => new PyInt(ia & ib),
                "<<" => ib.Sign < 0 ? throw new PyError("negative shift count")
                    : ib + ia.GetBitLength() > PyNumbers.MaxIntBits ? throw new PyError("int result too large") : new PyInt(ia << (int)ib),
                _ => ib.Sign < 0 ? throw new PyError("negative shift count") : new PyInt(ib > int.MaxValue ? (ia.Sign < 0 ? -1 : 0) : ia >> (int)ib),
            };
        }

        private static BigInteger Int(PyValue v) => v switch
        {
            PyInt i => i.Value,
            PyBool b => b.Value ? 1 : 0,
            _ => throw new PyError("unsupported operand type for a bitwise operator"),
        };

        private Func<PyValue> Factor()
        {
            if (Peek.Kind == TokKind.Op && Peek.Text is "-" or "+" or "~")
            {
                string op = Peek.Text;
                _i++;
                var x = Factor();
                return () => PyNumbers.Unary(op, x());
            }
            return Power();
        }

        private Func<PyValue> Power()
        {
            var b = Primary();
            if (Accept("**"))
            {
                var e = Factor();   // right-associative, and binds a unary minus on its right: 2**-1
                return () => PyNumbers.Binary("**", b(), e());
            }
            return b;
        }

        private Func<PyValue> Primary()
        {
            var t = Peek;
            _i++;
            switch (t.Kind)
            {
                case TokKind.Number:
                {
                    var v = Literal(t.Text);
                    return () => v;
                }
                case TokKind.Name:
                    switch (t.Text)
                    {
                        case "True": return () => new PyBool(true);
                        case "False": return () => new PyBool(false);
                        case "None": return () => PyValue.None;
                        case "math":
                        {
                            if (!Accept(".")) throw new PyError("the math module itself is not a number");
                            if (Peek.Kind != TokKind.Name) throw new PyError("invalid syntax after 'math.'");
                            string name = Peek.Text;
                            _i++;
                            if (Accept("("))
                            {
                                var args = new List<Func<PyValue>>();
                                while (!Accept(")"))
                                {
                                    args.Add(Expr());
                                    if (Accept(")")) break;
                                    if (!Accept(",")) throw new PyError("invalid syntax in a call");
                                }
                                return () => PyMath.Call(name, args.Select(a => a()).ToArray());
                            }
                            return () => PyMath.Constant(name);
                        }
                    }
                    throw new PyError($"name '{t.Text}' is not defined");
                case TokKind.Op when t.Text == "(":
                {
                    if (Peek.Kind == TokKind.Op && Peek.Text == ")") throw new PyError("tuples are not reproduced");
                    var e = Expr();
                    if (Peek.Kind == TokKind.Op && Peek.Text == ",") throw new PyError("tuples are not reproduced");
                    if (!Accept(")")) throw new PyError("'(' was never closed");
                    return e;
                }
            }
            throw new PyError($"invalid syntax at '{t.Text}'");
        }
    }
}

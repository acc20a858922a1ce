using System.Globalization;

namespace Minimind.Model.Chat.Jinja;

/// <summary>
/// Recursive-descent parser for the Jinja subset chat templates use, with jinja2's operator precedence
/// (conditional &lt; or &lt; and &lt; not &lt; comparison/in &lt; ~ &lt; + - &lt; * / // % &lt; ** &lt; unary,
/// with filters and tests binding to the unary operand). Any other statement is refused by name.
/// </summary>
internal sealed class JinjaParser
{
    private static readonly HashSet<string> Unsupported = new()
    {
        "macro", "call", "filter", "raw", "include", "import", "from", "extends", "block", "with", "generation", "autoescape", "do", "trans",
    };

    private readonly List<JinjaToken> _t;
    private readonly string _name;
    private int _p;

    private JinjaParser(List<JinjaToken> tokens, string name) { _t = tokens; _name = name; }

    public static List<Stmt> Parse(string source, string name)
    {
        var parser = new JinjaParser(JinjaLexer.Lex(source, name), name);
        var body = parser.ParseBody(out var end);
        if (end is not null) throw parser.Error($"unexpected '{{% {end} %}}' with no open block");
        return body;
    }

    private JinjaToken Cur => _t[_p];
    private JinjaException Error(string msg, int? line = null) => new($"{_name}:{line ?? Cur.Line}: {msg}");

    private bool IsOp(string op) => Cur.Kind == TokenKind.Op && Cur.Value == op;
    private bool IsName(string n) => Cur.Kind == TokenKind.Name && Cur.Value == n;
    private bool AcceptOp(string op) { if (!IsOp(op)) return false; _p++; return true; }
    private bool AcceptName(string n) { if (!IsName(n)) return false; _p++; return true; }
    private void ExpectOp(string op) { if (!AcceptOp(op)) throw Error($"expected '{op}', found {Describe(Cur)}"); }
    private void ExpectName(string n) { if (!AcceptName(n)) throw Error($"expected '{n}', found {Describe(Cur)}"); }
    private void Expect(TokenKind k) { if (Cur.Kind != k) throw Error($"expected {Describe(k)}, found {Describe(Cur)}"); _p++; }

    private static string Describe(JinjaToken t) => t.Kind switch
    {
        TokenKind.Name or TokenKind.Op => $"'{t.Value}'",
        TokenKind.String => "a string", TokenKind.Int or TokenKind.Float => "a number",
        _ => Describe(t.Kind),
    };

    private static string Describe(TokenKind k) => k switch
    {
        TokenKind.VarEnd => "'}}'", TokenKind.BlockEnd => "'%}'", TokenKind.Eof => "the end of the template",
        TokenKind.Text => "text", _ => k.ToString(),
    };

    private string ExpectIdent()
    {
        if (Cur.Kind != TokenKind.Name) throw Error($"expected a name, found {Describe(Cur)}");
        return _t[_p++].Value;
    }

    // Parses statements until an end/else keyword of an enclosing block (returned in `end`) or the end of input.
    private List<Stmt> ParseBody(out string? end)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var tok = Cur;
            switch (tok.Kind)
            {
                case TokenKind.Eof: end = null; return body;
                case TokenKind.Text: body.Add(new TextStmt(tok.Value, tok.Line)); _p++; break;
                case TokenKind.VarStart:
                    _p++;
                    var e = ParseExpression();
                    Expect(TokenKind.VarEnd);
                    body.Add(new OutputStmt(e, tok.Line));
                    break;
                case TokenKind.BlockStart:
                    _p++;
                    if (Cur.Kind != TokenKind.Name) throw Error($"expected a statement name after '{{%', found {Describe(Cur)}");
                    string kw = Cur.Value;
                    if (kw is "endif" or "endfor" or "else" or "elif" or "endset") { end = kw; _p++; return body; }
                    body.Add(ParseStatement(kw, tok.Line));
                    break;
                default: throw Error($"unexpected {Describe(tok)}");
            }
        }
    }

    private Stmt ParseStatement(string kw, int line)
    {
        if (Unsupported.Contains(kw) || kw.StartsWith("end", StringComparison.Ordinal))
            throw Error($"unsupported template construct '{{% {kw} %}}' (this interpreter implements if/elif/else, for/else, set, break, continue)");
        _p++;
        switch (kw)
        {
            case "if": return ParseIf(line);
            case "for": return ParseFor(line);
            case "set": return ParseSet(line);
            case "break": Expect(TokenKind.BlockEnd); return new BreakStmt(line);
            case "continue": Expect(TokenKind.BlockEnd); return new ContinueStmt(line);
            default: throw Error($"unsupported template construct '{{% {kw} %}}'", line);
        }
    }

    private IfStmt ParseIf(int line)
    {
        var test = ParseExpression();
        Expect(TokenKind.BlockEnd);
        var then = ParseBody(out var end);
        var els = new List<Stmt>();
        if (end == "elif")
        {
            int l = _t[_p - 1].Line;
            els.Add(ParseIf(l));
            return new IfStmt(test, then, els, line);
        }
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd);
            els = ParseBody(out end);
        }
        if (end != "endif") throw Error($"'{{% if %}}' opened at line {line} is not closed with '{{% endif %}}' (found {(end is null ? "the end of the template" : "'" + end + "'")})");
        Expect(TokenKind.BlockEnd);
        return new IfStmt(test, then, els, line);
    }

    private ForStmt ParseFor(int line)
    {
        var targets = new List<string> { ExpectIdent() };
        while (AcceptOp(",")) targets.Add(ExpectIdent());
        ExpectName("in");
        var iter = ParseOr(); // no conditional expression here: a trailing 'if' filters the loop
        Expr? filter = null;
        if (AcceptName("if")) filter = ParseOr();
        if (IsName("recursive")) throw Error("unsupported template construct 'recursive' loops");
        Expect(TokenKind.BlockEnd);
        var body = ParseBody(out var end);
        var els = new List<Stmt>();
        if (end == "else") { Expect(TokenKind.BlockEnd); els = ParseBody(out end); }
        if (end != "endfor") throw Error($"'{{% for %}}' opened at line {line} is not closed with '{{% endfor %}}'");
        Expect(TokenKind.BlockEnd);
        return new ForStmt(targets, iter, filter, body, els, line);
    }

    private SetStmt ParseSet(int line)
    {
        string name = ExpectIdent();
        string? attr = null;
        if (AcceptOp(".")) attr = ExpectIdent();
        if (IsOp(",")) throw Error("unsupported template construct: tuple assignment in '{% set %}'");
        if (Cur.Kind == TokenKind.BlockEnd && attr is null)
        {
            _p++;
            var body = ParseBody(out var end);
            if (end != "endset") throw Error($"block '{{% set {name} %}}' opened at line {line} is not closed with '{{% endset %}}'");
            Expect(TokenKind.BlockEnd);
            return new SetStmt(name, null, null, body, line);
        }
        ExpectOp("=");
        var value = ParseExpression();
        Expect(TokenKind.BlockEnd);
        return new SetStmt(name, attr, value, null, line);
    }

    // expression := or ['if' or ['else' expression]]; a bare tuple 'a, b' is a list.
    private Expr ParseExpression()
    {
        int line = Cur.Line;
        var first = ParseConditional();
        if (!IsOp(",")) return first;
        var items = new List<Expr> { first };
        while (AcceptOp(",") && !(Cur.Kind is TokenKind.VarEnd or TokenKind.BlockEnd)) items.Add(ParseConditional());
        return new ListExpr(items, line);
    }

    private Expr ParseConditional()
    {
        var e = ParseOr();
        while (IsName("if"))
        {
            int line = Cur.Line; _p++;
            var test = ParseOr();
            Expr? els = AcceptName("else") ? ParseConditional() : null;
            e = new CondExpr(test, e, els, line);
        }
        return e;
    }

    private Expr ParseOr()
    {
        var e = ParseAnd();
        while (IsName("or")) { int l = Cur.Line; _p++; e = new BinaryExpr("or", e, ParseAnd(), l); }
        return e;
    }

    private Expr ParseAnd()
    {
        var e = ParseNot();
        while (IsName("and")) { int l = Cur.Line; _p++; e = new BinaryExpr("and", e, ParseNot(), l); }
        return e;
    }

    private Expr ParseNot()
    {
        if (IsName("not")) { int l = Cur.Line; _p++; return new UnaryExpr("not", ParseNot(), l); }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var e = ParseConcat();
        Expr? chain = null;
        while (true)
        {
            int l = Cur.Line;
            string? op = null;
            if (Cur.Kind == TokenKind.Op && Cur.Value is "==" or "!=" or "<" or ">" or "<=" or ">=") { op = Cur.Value; _p++; }
            else if (IsName("in")) { op = "in"; _p++; }
            else if (IsName("not") && _t[_p + 1].Kind == TokenKind.Name && _t[_p + 1].Value == "in") { op = "not in"; _p += 2; }
            if (op is null) return chain ?? e;
            var right = ParseConcat();
            var cmp = new BinaryExpr(op, e, right, l);
            chain = chain is null ? cmp : new BinaryExpr("and", chain, cmp, l); // a < b < c
            e = right;
        }
    }

    private Expr ParseConcat()
    {
        var e = ParseMath1();
        while (IsOp("~")) { int l = Cur.Line; _p++; e = new BinaryExpr("~", e, ParseMath1(), l); }
        return e;
    }

    private Expr ParseMath1()
    {
        var e = ParseMath2();
        while (IsOp("+") || IsOp("-")) { var t = _t[_p++]; e = new BinaryExpr(t.Value, e, ParseMath2(), t.Line); }
        return e;
    }

    private Expr ParseMath2()
    {
        var e = ParsePow();
        while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) { var t = _t[_p++]; e = new BinaryExpr(t.Value, e, ParsePow(), t.Line); }
        return e;
    }

    private Expr ParsePow()
    {
        var e = ParseUnary(true);
        while (IsOp("**")) { int l = Cur.Line; _p++; e = new BinaryExpr("**", e, ParseUnary(true), l); }
        return e;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Expr e;
        if (IsOp("-") || IsOp("+")) { var t = _t[_p++]; e = new UnaryExpr(t.Value, ParseUnary(false), t.Line); }
        else e = ParsePrimary();
        e = ParsePostfix(e);
        return withFilter ? ParseFilters(e) : e;
    }

    private Expr ParsePrimary()
    {
        var t = Cur;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _p++;
                return t.Value switch
                {
                    "true" or "True" => new ConstExpr(true, t.Line),
                    "false" or "False" => new ConstExpr(false, t.Line),
                    "none" or "None" => new ConstExpr(null, t.Line),
                    _ => new NameExpr(t.Value, t.Line),
                };
            case TokenKind.String:
            {
                _p++;
                string s = t.Value;
                while (Cur.Kind == TokenKind.String) s += _t[_p++].Value; // adjacent literals concatenate
                return new ConstExpr(s, t.Line);
            }
            case TokenKind.Int:
                _p++;
                return long.TryParse(t.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long v)
                    ? new ConstExpr(v, t.Line) : throw Error($"integer literal {t.Value} is too large");
            case TokenKind.Float:
                _p++;
                return new ConstExpr(double.Parse(t.Value, NumberStyles.Float, CultureInfo.InvariantCulture), t.Line);
            case TokenKind.Op when t.Value == "(":
            {
                _p++;
                if (AcceptOp(")")) return new ListExpr(new(), t.Line);
                var e = ParseConditional();
                if (IsOp(","))
                {
                    var items = new List<Expr> { e };
                    while (AcceptOp(",") && !IsOp(")")) items.Add(ParseConditional());
                    e = new ListExpr(items, t.Line);
                }
                ExpectOp(")");
                return e;
            }
            case TokenKind.Op when t.Value == "[":
            {
                _p++;
                var items = new List<Expr>();
                while (!IsOp("]")) { items.Add(ParseConditional()); if (!AcceptOp(",")) break; }
                ExpectOp("]");
                return new ListExpr(items, t.Line);
            }
            case TokenKind.Op when t.Value == "{":
            {
                _p++;
                var items = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    var k = ParseConditional();
                    ExpectOp(":");
                    items.Add((k, ParseConditional()));
                    if (!AcceptOp(",")) break;
                }
                ExpectOp("}");
                return new DictExpr(items, t.Line);
            }
            default: throw Error($"expected an expression, found {Describe(t)}");
        }
    }

    private Expr ParsePostfix(Expr e)
    {
        while (true)
        {
            int l = Cur.Line;
            if (AcceptOp("."))
            {
                if (Cur.Kind == TokenKind.Int) { e = new ItemExpr(e, new ConstExpr(long.Parse(_t[_p++].Value, CultureInfo.InvariantCulture), l), l); continue; }
                e = new AttrExpr(e, ExpectIdent(), l);
            }
            else if (AcceptOp("["))
            {
                Expr? a = null, b = null, c = null;
                if (!IsOp(":")) a = ParseConditional();
                if (AcceptOp(":"))
                {
                    if (!IsOp("]") && !IsOp(":")) b = ParseConditional();
                    if (AcceptOp(":") && !IsOp("]")) c = ParseConditional();
                    ExpectOp("]");
                    e = new SliceExpr(e, a, b, c, l);
                }
                else { ExpectOp("]"); e = new ItemExpr(e, a!, l); }
            }
            else if (IsOp("(")) { var (args, kw) = ParseCallArgs(); e = new CallExpr(e, args, kw, l); }
            else return e;
        }
    }

    private (List<Expr>, List<(string, Expr)>) ParseCallArgs()
    {
        ExpectOp("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (IsOp("*") || IsOp("**")) throw Error("unsupported template construct: '*args'/'**kwargs' in a call");
            if (Cur.Kind == TokenKind.Name && _t[_p + 1].Kind == TokenKind.Op && _t[_p + 1].Value == "=")
            {
                string n = _t[_p].Value; _p += 2;
                kwargs.Add((n, ParseConditional()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error("positional argument after a keyword argument");
                args.Add(ParseConditional());
            }
            if (!AcceptOp(",")) break;
        }
        ExpectOp(")");
        return (args, kwargs);
    }

    private Expr ParseFilters(Expr e)
    {
        while (true)
        {
            int l = Cur.Line;
            if (AcceptOp("|"))
            {
                string name = ExpectIdent();
                while (AcceptOp(".")) name += "." + ExpectIdent();
                var (args, kw) = IsOp("(") ? ParseCallArgs() : (new List<Expr>(), new List<(string, Expr)>());
                e = new FilterExpr(e, name, args, kw, l);
            }
            else if (AcceptName("is"))
            {
                bool neg = AcceptName("not");
                string name = ExpectIdent();
                var args = new List<Expr>();
                if (IsOp("(")) { var (a, kw) = ParseCallArgs(); if (kw.Count > 0) throw Error($"keyword arguments to test '{name}'"); args = a; }
                else if (Cur.Kind is TokenKind.String or TokenKind.Int or TokenKind.Float
                         || (Cur.Kind == TokenKind.Name && Cur.Value is not ("else" or "or" or "and" or "if" or "is" or "in" or "not"))
                         || IsOp("[") || IsOp("-"))
                    args.Add(ParseUnary(false));
                e = new TestExpr(e, name, args, neg, l);
            }
            else return e;
        }
    }
}

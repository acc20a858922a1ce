using System.Text;

namespace Minimind.Model.Chat.Jinja;

/// <summary>Tree-walking evaluation of parsed statements and expressions with Python/jinja2 semantics.</summary>
internal sealed class JinjaEvaluator(string name, StringBuilder output)
{
    private enum Flow { Normal, Break, Continue }

    public JinjaException Error(int line, string msg) => new($"{name}:{line}: {msg}");

    public void Run(List<Stmt> body, JinjaScope scope) => Exec(body, scope, output);

    private Flow Exec(List<Stmt> body, JinjaScope scope, StringBuilder sb)
    {
        foreach (var st in body)
        {
            var flow = Exec(st, scope, sb);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Exec(Stmt st, JinjaScope scope, StringBuilder sb)
    {
        switch (st)
        {
            case TextStmt t: sb.Append(t.Text); return Flow.Normal;
            case OutputStmt o: sb.Append(PyFormat.Str(Eval(o.Value, scope))); return Flow.Normal;
            case IfStmt i: return Exec(Truthy(Eval(i.Test, scope)) ? i.Then : i.Else, scope, sb);
            case ForStmt f: return ExecFor(f, scope, sb);
            case SetStmt s:
            {
                object? value;
                if (s.Body is not null) { var inner = new StringBuilder(); Exec(s.Body, scope, inner); value = inner.ToString(); }
                else value = Eval(s.Value!, scope);
                if (s.Attr is null) { scope.Set(s.Name, value); return Flow.Normal; }
                if (!scope.TryGet(s.Name, out var target) || target is not JinjaNamespace ns)
                    throw Error(s.Line, $"cannot assign attribute '{s.Attr}' of '{s.Name}': only namespace() objects take attribute assignment");
                ns.Attrs[s.Attr] = value;
                return Flow.Normal;
            }
            case BreakStmt: return Flow.Break;
            case ContinueStmt: return Flow.Continue;
            default: throw Error(st.Line, $"unsupported statement {st.GetType().Name}");
        }
    }

    private Flow ExecFor(ForStmt f, JinjaScope scope, StringBuilder sb)
    {
        var items = Iterate(Eval(f.Iter, scope), f.Line);
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var it in items)
            {
                var probe = new JinjaScope(scope);
                Bind(probe, f.Targets, it, f.Line);
                if (Truthy(Eval(f.Filter, probe))) kept.Add(it);
            }
            items = kept;
        }
        if (items.Count == 0) return Exec(f.Else, scope, sb);
        var loop = new JinjaLoop(items);
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            var inner = new JinjaScope(scope);
            inner.Set("loop", loop);
            Bind(inner, f.Targets, items[i], f.Line);
            if (Exec(f.Body, inner, sb) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private void Bind(JinjaScope scope, List<string> targets, object? item, int line)
    {
        if (targets.Count == 1) { scope.Set(targets[0], item); return; }
        var parts = Iterate(item, line);
        if (parts.Count != targets.Count) throw Error(line, $"cannot unpack {parts.Count} values into {targets.Count} loop variables");
        for (int k = 0; k < targets.Count; k++) scope.Set(targets[k], parts[k]);
    }

    /// <summary>Python iteration: lists, dict keys, string characters; Undefined is empty.</summary>
    public List<object?> Iterate(object? v, int line) => v switch
    {
        List<object?> l => l,
        OrderedDictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
        string s => PyStr.CodePoints(s).Cast<object?>().ToList(),
        JinjaUndefined => new List<object?>(),
        _ => throw Error(line, $"'{TypeName(v)}' object is not iterable"),
    };

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        JinjaUndefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        OrderedDictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType", bool => "bool", long => "int", double => "float", string => "str",
        List<object?> => "list", OrderedDictionary<string, object?> => "dict", JinjaUndefined => "Undefined",
        JinjaNamespace => "Namespace", JinjaCallable => "function", JinjaLoop => "LoopContext", _ => v.GetType().Name,
    };

    public object? Eval(Expr e, JinjaScope scope)
    {
        switch (e)
        {
            case ConstExpr c: return c.Value;
            case NameExpr n:
                if (scope.TryGet(n.Name, out var v)) return v;
                return JinjaBuiltins.Global(n.Name, this) ?? new JinjaUndefined(n.Name);
            case ListExpr l: return l.Items.Select(x => Eval(x, scope)).ToList();
            case DictExpr d:
            {
                var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, x) in d.Items)
                    dict[Eval(k, scope) as string ?? throw Error(d.Line, "dict literal keys must be strings here")] = Eval(x, scope);
                return dict;
            }
            case AttrExpr a: return GetAttr(Eval(a.Target, scope), a.Name, a.Line, Describe(a.Target));
            case ItemExpr it: return GetItem(Eval(it.Target, scope), Eval(it.Index, scope), it.Line, Describe(it.Target));
            case SliceExpr s:
                return Slice(Eval(s.Target, scope), s.Start is null ? null : Eval(s.Start, scope), s.Stop is null ? null : Eval(s.Stop, scope),
                    s.Step is null ? null : Eval(s.Step, scope), s.Line);
            case CallExpr call:
            {
                var fn = Eval(call.Target, scope);
                var args = call.Args.Select(x => Eval(x, scope)).ToList();
                var kwargs = call.Kwargs.Select(k => (k.Name, Eval(k.Value, scope))).ToList();
                if (fn is JinjaCallable jc)
                {
                    try { return jc.Invoke(args, kwargs); }
                    catch (JinjaException) { throw; }
                    catch (Exception ex) when (ex is ArgumentException or InvalidCastException or InvalidOperationException or FormatException)
                    { throw Error(call.Line, $"{jc.Name}(): {ex.Message}"); }
                }
                if (fn is JinjaUndefined u) throw Error(call.Line, $"'{u.Name}' is undefined (not callable)");
                throw Error(call.Line, $"'{TypeName(fn)}' object is not callable");
            }
            case FilterExpr f:
                return JinjaBuiltins.Filter(f.Name, Eval(f.Target, scope), f.Args.Select(x => Eval(x, scope)).ToList(),
                    f.Kwargs.Select(k => (k.Name, Eval(k.Value, scope))).ToList(), f.Line, this);
            case TestExpr t:
            {
                bool r = JinjaBuiltins.Test(t.Name, Eval(t.Target, scope), t.Args.Select(x => Eval(x, scope)).ToList(), t.Line, this);
                return t.Negated ? !r : r;
            }
            case UnaryExpr u:
            {
                var x = Eval(u.Operand, scope);
                if (u.Op == "not") return !Truthy(x);
                return x switch
                {
                    long l => (object?)(u.Op == "-" ? -l : l),
                    double d => (object?)(u.Op == "-" ? -d : d),
                    bool b => (object?)(u.Op == "-" ? -(b ? 1L : 0L) : (b ? 1L : 0L)),
                    _ => throw Error(u.Line, $"bad operand type for unary {u.Op}: '{TypeName(x)}'"),
                };
            }
            case BinaryExpr b:
                if (b.Op == "and") { var l = Eval(b.Left, scope); return Truthy(l) ? Eval(b.Right, scope) : l; }
                if (b.Op == "or") { var l = Eval(b.Left, scope); return Truthy(l) ? l : Eval(b.Right, scope); }
                return Binary(b.Op, Eval(b.Left, scope), Eval(b.Right, scope), b.Line);
            case CondExpr c:
                if (Truthy(Eval(c.Test, scope))) return Eval(c.Then, scope);
                return c.Else is null ? new JinjaUndefined("(if without else)") : Eval(c.Else, scope);
            default: throw Error(e.Line, $"unsupported expression {e.GetType().Name}");
        }
    }

    private static string Describe(Expr e) => e switch
    {
        NameExpr n => n.Name,
        AttrExpr a => Describe(a.Target) + "." + a.Name,
        ItemExpr i => Describe(i.Target) + "[" + (i.Index is ConstExpr c ? PyFormat.Repr(c.Value) : "...") + "]",
        _ => "value",
    };

    // jinja2's getattr: a Python attribute first (methods of str/dict/list), else the item of that name.
    public object? GetAttr(object? obj, string attr, int line, string what)
    {
        switch (obj)
        {
            case JinjaUndefined u: throw Error(line, $"'{u.Name}' is undefined (while reading its attribute '{attr}')");
            case JinjaNamespace ns: return ns.Attrs.TryGetValue(attr, out var v) ? v : new JinjaUndefined(what + "." + attr);
            case JinjaLoop loop: return loop.Get(attr);
            case OrderedDictionary<string, object?> d:
                return (object?)JinjaBuiltins.Method(d, attr, this) ?? (d.TryGetValue(attr, out var x) ? x : new JinjaUndefined(what + "." + attr));
            case string or List<object?>:
                return (object?)JinjaBuiltins.Method(obj, attr, this) ?? new JinjaUndefined(what + "." + attr);
            default: return new JinjaUndefined(what + "." + attr);
        }
    }

    // jinja2's getitem: the item first, else the attribute of that name.
    public object? GetItem(object? obj, object? key, int line, string what)
    {
        switch (obj)
        {
            case JinjaUndefined u: throw Error(line, $"'{u.Name}' is undefined (while reading its item {PyFormat.Repr(key)})");
            case OrderedDictionary<string, object?> d when key is string k:
                return d.TryGetValue(k, out var v) ? v : GetAttr(obj, k, line, what);
            case List<object?> l when key is long or bool:
            {
                long i = ToIndex(key);
                if (i < 0) i += l.Count;
                return i >= 0 && i < l.Count ? l[(int)i] : new JinjaUndefined($"{what}[{key}]");
            }
            case string s when key is long or bool:
            {
                var cps = PyStr.CodePoints(s);
                long i = ToIndex(key);
                if (i < 0) i += cps.Count;
                return i >= 0 && i < cps.Count ? cps[(int)i] : new JinjaUndefined($"{what}[{key}]");
            }
            default:
                if (key is string attr) return GetAttr(obj, attr, line, what);
                return new JinjaUndefined($"{what}[{PyFormat.Repr(key)}]");
        }
    }

    private static long ToIndex(object? k) => k is bool b ? (b ? 1 : 0) : (long)k!;

    private object? Slice(object? obj, object? start, object? stop, object? step, int line)
    {
        long? Opt(object? x, string which) => x switch
        {
            null => null,
            long l => l,
            bool b => b ? 1 : 0,
            _ => throw Error(line, $"slice {which} must be an integer or none, not {TypeName(x)}"),
        };
        long? a = Opt(start, "start"), b = Opt(stop, "stop"), c = Opt(step, "step");
        List<object?> src = obj switch
        {
            List<object?> l => l,
            string s => PyStr.CodePoints(s).Cast<object?>().ToList(),
            JinjaUndefined u => throw Error(line, $"'{u.Name}' is undefined (while slicing it)"),
            _ => throw Error(line, $"'{TypeName(obj)}' object is not subscriptable"),
        };
        var picked = PyStr.SliceIndices(src.Count, a, b, c ?? 1, line, name).Select(i => src[i]).ToList();
        return obj is string ? string.Concat(picked.Cast<string>()) : picked;
    }

    public object? Binary(string op, object? l, object? r, int line)
    {
        switch (op)
        {
            case "==": return PyEquals(l, r);
            case "!=": return !PyEquals(l, r);
            case "in": return Contains(r, l, line);
            case "not in": return !Contains(r, l, line);
            case "~": return PyFormat.Str(l) + PyFormat.Str(r);
        }
        if (l is JinjaUndefined ul) throw Error(line, $"'{ul.Name}' is undefined (left operand of '{op}')");
        if (r is JinjaUndefined ur) throw Error(line, $"'{ur.Name}' is undefined (right operand of '{op}')");
        if (op is "<" or ">" or "<=" or ">=")
        {
            int cmp;
            if (l is string ls && r is string rs) cmp = string.CompareOrdinal(ls, rs) switch { < 0 => -1, > 0 => 1, _ => 0 };
            else if (IsNumber(l) && IsNumber(r)) cmp = ToDouble(l).CompareTo(ToDouble(r));
            else throw Error(line, $"'{op}' not supported between instances of '{TypeName(l)}' and '{TypeName(r)}'");
            return op switch { "<" => cmp < 0, ">" => cmp > 0, "<=" => cmp <= 0, _ => cmp >= 0 };
        }
        if (op == "+")
        {
            if (l is string a && r is string b) return a + b;
            if (l is List<object?> la && r is List<object?> lb) return la.Concat(lb).ToList();
        }
        if (op == "*")
        {
            if (l is string s && IsInt(r)) return string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, ToLong(r))));
            if (IsInt(l) && r is string s2) return string.Concat(Enumerable.Repeat(s2, (int)Math.Max(0, ToLong(l))));
        }
        if (!IsNumber(l) || !IsNumber(r))
            throw Error(line, $"unsupported operand type(s) for {op}: '{TypeName(l)}' and '{TypeName(r)}'");
        bool ints = IsInt(l) && IsInt(r);
        switch (op)
        {
            case "+": return ints ? (object?)(ToLong(l) + ToLong(r)) : ToDouble(l) + ToDouble(r);
            case "-": return ints ? (object?)(ToLong(l) - ToLong(r)) : ToDouble(l) - ToDouble(r);
            case "*": return ints ? (object?)(ToLong(l) * ToLong(r)) : ToDouble(l) * ToDouble(r);
            case "/":
                if (ToDouble(r) == 0) throw Error(line, "division by zero");
                return ToDouble(l) / ToDouble(r);
            case "//":
                if (ToDouble(r) == 0) throw Error(line, "integer division or modulo by zero");
                if (ints) { long a = ToLong(l), b = ToLong(r), q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q--; return q; }
                return Math.Floor(ToDouble(l) / ToDouble(r));
            case "%":
                if (ToDouble(r) == 0) throw Error(line, "integer division or modulo by zero");
                if (ints) { long a = ToLong(l), b = ToLong(r), m = a % b; if (m != 0 && ((m < 0) != (b < 0))) m += b; return m; }
                { double a = ToDouble(l), b = ToDouble(r), m = a % b; if (m != 0 && ((m < 0) != (b < 0))) m += b; return m; }
            case "**":
                if (ints && ToLong(r) >= 0) { long acc = 1, bs = ToLong(l); for (long k = ToLong(r); k > 0; k--) acc *= bs; return acc; }
                return Math.Pow(ToDouble(l), ToDouble(r));
        }
        throw Error(line, $"unsupported operator '{op}'");
    }

    private bool Contains(object? container, object? item, int line) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw Error(line, $"'in <string>' requires string as left operand, not {TypeName(item)}"),
        List<object?> l => l.Any(x => PyEquals(x, item)),
        OrderedDictionary<string, object?> d => item is string k && d.ContainsKey(k),
        JinjaUndefined u => throw Error(line, $"'{u.Name}' is undefined (right operand of 'in')"),
        _ => throw Error(line, $"argument of type '{TypeName(container)}' is not iterable"),
    };

    public static bool IsNumber(object? v) => v is long or double or bool;
    public static bool IsInt(object? v) => v is long or bool;
    public static long ToLong(object? v) => v is bool b ? (b ? 1 : 0) : (long)v!;
    public static double ToDouble(object? v) => v switch { bool b => b ? 1 : 0, long l => l, _ => (double)v! };

    public static bool PyEquals(object? a, object? b)
    {
        if (a is JinjaUndefined || b is JinjaUndefined) return a is JinjaUndefined && b is JinjaUndefined;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b) && (!(IsInt(a) && IsInt(b)) || ToLong(a) == ToLong(b));
        return (a, b) switch
        {
            (null, null) => true,
            (string x, string y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => PyEquals(p.First, p.Second)),
            (OrderedDictionary<string, object?> x, OrderedDictionary<string, object?> y) =>
                x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var o) && PyEquals(p.Value, o)),
            _ => ReferenceEquals(a, b),
        };
    }
}

namespace Minimind.Model.Chat.Jinja;

/// <summary>
/// The globals, filters, tests and Python methods chat templates use. Anything else is refused with an error
/// naming it, so a template that needs more fails loudly instead of rendering differently from HuggingFace.
/// </summary>
internal static class JinjaBuiltins
{
    /// <summary>A global function (namespace, raise_exception, range), or null.</summary>
    public static object? Global(string name, JinjaEvaluator ev) => name switch
    {
        "namespace" => new JinjaCallable("namespace", (args, kwargs) =>
        {
            var ns = new JinjaNamespace();
            foreach (var a in args)
            {
                if (a is not OrderedDictionary<string, object?> d) throw new ArgumentException("namespace() takes keyword arguments or a dict");
                foreach (var (k, v) in d) ns.Attrs[k] = v;
            }
            foreach (var (k, v) in kwargs) ns.Attrs[k] = v;
            return ns;
        }),
        "raise_exception" => new JinjaCallable("raise_exception", (args, _) =>
            throw new JinjaException("the chat template raised an error: " + (args.Count > 0 ? PyFormat.Str(args[0]) : ""), raisedByTemplate: true)),
        "range" => new JinjaCallable("range", (args, _) =>
        {
            if (args.Count is < 1 or > 3 || !args.All(JinjaEvaluator.IsInt)) throw new ArgumentException("range() takes 1 to 3 integers");
            long start = args.Count == 1 ? 0 : JinjaEvaluator.ToLong(args[0]);
            long stop = JinjaEvaluator.ToLong(args[args.Count == 1 ? 0 : 1]);
            long step = args.Count == 3 ? JinjaEvaluator.ToLong(args[2]) : 1;
            if (step == 0) throw new ArgumentException("range() arg 3 must not be zero");
            var r = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) { r.Add(i); if (r.Count > 1_000_000) throw new ArgumentException("range() too long"); }
            return r;
        }),
        _ => null,
    };

    private static string? OptStr(List<object?> args, int i, string method) =>
        args.Count <= i || args[i] is null ? null
        : args[i] as string ?? throw new ArgumentException($"{method}() argument must be str or None, not {JinjaEvaluator.TypeName(args[i])}");

    private static string ReqStr(List<object?> args, int i, string method) =>
        args.Count > i && args[i] is string s ? s : throw new ArgumentException($"{method}() needs a string argument {i + 1}");

    /// <summary>A bound Python method of a str, dict or list value, or null when there is none of that name.</summary>
    public static JinjaCallable? Method(object? obj, string name, JinjaEvaluator ev)
    {
        switch (obj)
        {
            case string s:
                return name switch
                {
                    "strip" or "lstrip" or "rstrip" => new(name, (a, _) => PyStr.Strip(s, OptStr(a, 0, name), name != "rstrip", name != "lstrip")),
                    "split" => new(name, (a, kw) =>
                    {
                        long max = a.Count > 1 ? JinjaEvaluator.ToLong(a[1]) : kw.Where(k => k.Name == "maxsplit").Select(k => JinjaEvaluator.ToLong(k.Value)).DefaultIfEmpty(-1).First();
                        return PyStr.Split(s, OptStr(a, 0, name), max);
                    }),
                    "startswith" or "endswith" => new(name, (a, _) =>
                    {
                        var prefixes = a.Count > 0 && a[0] is List<object?> l ? l : new List<object?> { a.Count > 0 ? a[0] : null };
                        return prefixes.Any(p => p is string x
                            ? (name == "startswith" ? s.StartsWith(x, StringComparison.Ordinal) : s.EndsWith(x, StringComparison.Ordinal))
                            : throw new ArgumentException($"{name} first arg must be str or a tuple of str"));
                    }),
                    "upper" => new(name, (_, _) => s.ToUpperInvariant()),
                    "lower" => new(name, (_, _) => s.ToLowerInvariant()),
                    "title" => new(name, (_, _) => PyStr.Title(s)),
                    "capitalize" => new(name, (_, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant()),
                    "replace" => new(name, (a, _) =>
                    {
                        string o = ReqStr(a, 0, name), n = ReqStr(a, 1, name);
                        long count = a.Count > 2 ? JinjaEvaluator.ToLong(a[2]) : -1;
                        if (count < 0) return o.Length == 0 ? Interleave(s, n) : s.Replace(o, n, StringComparison.Ordinal);
                        var parts = PyStr.Split(s, o.Length == 0 ? throw new ArgumentException("replace() with an empty pattern and a count is not supported") : o, count);
                        return string.Join(n, parts.Cast<string>());
                    }),
                    "find" => new(name, (a, _) =>
                    {
                        int k = s.IndexOf(ReqStr(a, 0, name), StringComparison.Ordinal);
                        return k < 0 ? -1L : PyStr.Length(s[..k]);
                    }),
                    "count" => new(name, (a, _) => { string x = ReqStr(a, 0, name); return x.Length == 0 ? PyStr.Length(s) + 1L : (long)(PyStr.Split(s, x, -1).Count - 1); }),
                    "join" => new(name, (a, _) => string.Join(s, ev.Iterate(a.Count > 0 ? a[0] : null, 0).Select(x => x as string ?? throw new ArgumentException("join() items must be strings")))),
                    "isdigit" => new(name, (_, _) => s.Length > 0 && s.All(char.IsDigit)),
                    _ => null,
                };
            case OrderedDictionary<string, object?> d:
                return name switch
                {
                    "items" => new(name, (_, _) => d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList()),
                    "keys" => new(name, (_, _) => d.Keys.Cast<object?>().ToList()),
                    "values" => new(name, (_, _) => d.Values.ToList()),
                    "get" => new(name, (a, _) => a.Count > 0 && a[0] is string k && d.TryGetValue(k, out var v) ? v : a.Count > 1 ? a[1] : null),
                    _ => null,
                };
            default:
                return null;
        }
    }

    private static string Interleave(string s, string n) => n + string.Join(n, PyStr.CodePoints(s)) + n;

    /// <summary>Applies filter <paramref name="name"/>.</summary>
    public static object? Filter(string name, object? v, List<object?> args, List<(string Name, object? Value)> kwargs, int line, JinjaEvaluator ev)
    {
        object? Kw(string k, int pos, object? def)
        {
            foreach (var (n, x) in kwargs) if (n == k) return x;
            return args.Count > pos ? args[pos] : def;
        }
        switch (name)
        {
            case "length" or "count":
                return v switch
                {
                    string s => (long)PyStr.Length(s),
                    List<object?> l => (long)l.Count,
                    OrderedDictionary<string, object?> dict => (long)dict.Count,
                    JinjaUndefined => 0L,
                    _ => throw ev.Error(line, $"object of type '{JinjaEvaluator.TypeName(v)}' has no len() (filter '{name}')"),
                };
            case "tojson":
            {
                var indent = Kw("indent", 0, null);
                var sep = Kw("separators", 2, null) as List<object?>;
                // transformers' tojson: json.dumps(x, ensure_ascii=False, ...) unless the template passes ensure_ascii.
                return PyFormat.JsonDumps(v, indent is null ? null : (int)JinjaEvaluator.ToLong(indent), JinjaEvaluator.Truthy(Kw("sort_keys", 3, false)),
                    sep?[0] as string, sep?[1] as string, JinjaEvaluator.Truthy(Kw("ensure_ascii", int.MaxValue, false)));
            }
            case "trim": return PyStr.Strip(AsString(v, name, line), Kw("chars", 0, null) as string, true, true);
            case "upper": return AsString(v, name, line).ToUpperInvariant();
            case "lower": return AsString(v, name, line).ToLowerInvariant();
            case "capitalize": { var s = AsString(v, name, line); return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant(); }
            case "title": return PyStr.Title(AsString(v, name, line));
            case "string": return PyFormat.Str(v);
            case "safe": return v;
            case "default" or "d":
            {
                bool boolean = JinjaEvaluator.Truthy(Kw("boolean", 1, false));
                bool useDefault = v is JinjaUndefined || (boolean && !JinjaEvaluator.Truthy(v));
                return useDefault ? Kw("default_value", 0, "") : v;
            }
            case "join":
            {
                var sep = Kw("d", 0, "") as string ?? "";
                return string.Join(sep, ev.Iterate(v, line).Select(PyFormat.Str));
            }
            case "first": { var l = ev.Iterate(v, line); return l.Count > 0 ? l[0] : new JinjaUndefined("first of an empty sequence"); }
            case "last": { var l = ev.Iterate(v, line); return l.Count > 0 ? l[^1] : new JinjaUndefined("last of an empty sequence"); }
            case "list": return ev.Iterate(v, line).ToList();
            case "reverse": { if (v is string s) return string.Concat(PyStr.CodePoints(s).AsEnumerable().Reverse()); var l = ev.Iterate(v, line).ToList(); l.Reverse(); return l; }
            case "items":
                return v is OrderedDictionary<string, object?> d ? d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList()
                    : v is JinjaUndefined ? new List<object?>() : throw ev.Error(line, $"filter 'items' needs a dict, not {JinjaEvaluator.TypeName(v)}");
            case "replace":
                return AsString(v, name, line).Replace(args.Count > 0 ? args[0] as string ?? "" : "", args.Count > 1 ? PyFormat.Str(args[1]) : "", StringComparison.Ordinal);
            case "int":
                return v switch
                {
                    long l => (object?)l, bool b => b ? 1L : 0L, double x => (long)Math.Truncate(x),
                    string s when long.TryParse(s.Trim(), out var p) => p,
                    _ => Kw("default", 0, 0L),
                };
            case "abs": return v switch { long l => (object?)Math.Abs(l), double x => (object?)Math.Abs(x), _ => throw ev.Error(line, "filter 'abs' needs a number") };
            default:
                throw ev.Error(line, $"unsupported template construct: filter '{name}' (supported: length, count, tojson, trim, upper, lower, capitalize, title, string, safe, default, join, first, last, list, reverse, items, replace, int, abs)");
        }
    }

    private static string AsString(object? v, string filter, int line) => v switch
    {
        string s => s,
        JinjaUndefined => "",
        _ => PyFormat.Str(v),
    };

    /// <summary>Applies test <paramref name="name"/> (<c>x is name</c>).</summary>
    public static bool Test(string name, object? v, List<object?> args, int line, JinjaEvaluator ev)
    {
        switch (name)
        {
            case "defined": return v is not JinjaUndefined;
            case "undefined": return v is JinjaUndefined;
            case "none": return v is null;
            case "string": return v is string;
            case "number": return v is long or double;
            case "integer": return v is long;
            case "float": return v is double;
            case "boolean": return v is bool;
            case "true": return v is true;
            case "false": return v is false;
            case "mapping": return v is OrderedDictionary<string, object?> or JinjaNamespace;
            case "sequence": return v is string or List<object?> or OrderedDictionary<string, object?>;
            case "iterable": return v is string or List<object?> or OrderedDictionary<string, object?>;
            case "callable": return v is JinjaCallable;
            case "odd": return JinjaEvaluator.IsInt(v) ? (JinjaEvaluator.ToLong(v) & 1) == 1 : throw ev.Error(line, "test 'odd' needs an integer");
            case "even": return JinjaEvaluator.IsInt(v) ? (JinjaEvaluator.ToLong(v) & 1) == 0 : throw ev.Error(line, "test 'even' needs an integer");
            case "eq" or "equalto" or "sameas": return args.Count == 1 ? JinjaEvaluator.PyEquals(v, args[0]) : throw ev.Error(line, $"test '{name}' takes one argument");
            case "ne": return args.Count == 1 ? !JinjaEvaluator.PyEquals(v, args[0]) : throw ev.Error(line, "test 'ne' takes one argument");
            case "in": return args.Count == 1 && (bool)ev.Binary("in", v, args[0], line)!;
            case "lower": return v is string s && s == s.ToLowerInvariant();
            case "upper": return v is string u && u == u.ToUpperInvariant();
            default:
                throw ev.Error(line, $"unsupported template construct: test 'is {name}'");
        }
    }
}

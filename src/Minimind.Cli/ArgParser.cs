using System.Globalization;

namespace Minimind.Cli;

/// <summary>
/// Small GNU-style parser: <c>--name value</c>, <c>--name=value</c>, boolean <c>--flag</c>, positionals.
/// Commands ask for what they accept; <see cref="EnsureAllUsed"/> then rejects anything unrecognised,
/// naming the option, so a typo never silently falls back to a default.
/// </summary>
public sealed class ArgParser
{
    private readonly List<string> _positionals = new();
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private int _positionalsUsed;

    /// <summary>Parses the arguments after the command name.</summary>
    public ArgParser(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (a == "--") { _positionals.AddRange(list.Skip(i + 1)); break; }
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
            {
                var eq = a.IndexOf('=');
                string name = eq > 0 ? a[2..eq] : a[2..];
                string? value = eq > 0 ? a[(eq + 1)..] : null;
                if (value is null && i + 1 < list.Count && !IsOptionLike(list[i + 1])) value = list[++i];
                if (_options.ContainsKey(name)) throw new UsageException($"option --{name} given twice");
                _options[name] = value;
            }
            else if (a == "-h") _options["help"] = null;
            else _positionals.Add(a);
        }
    }

    private static bool IsOptionLike(string s) =>
        s.StartsWith("--", StringComparison.Ordinal) && s.Length > 2 && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>True when --help or -h was given.</summary>
    public bool WantsHelp => _options.ContainsKey("help");

    /// <summary>True when the option was given at all.</summary>
    public bool Has(string name) { _used.Add(name); return _options.ContainsKey(name); }

    /// <summary>A boolean flag. <c>--flag</c>, <c>--flag true</c>, <c>--flag false</c>.</summary>
    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_options.TryGetValue(name, out var v)) return false;
        if (v is null) return true;
        if (bool.TryParse(v, out var b)) return b;
        if (v == "1") return true;
        if (v == "0") return false;
        // A flag followed by a positional: give the positional back.
        _options[name] = null; _positionals.Add(v);
        return true;
    }

    /// <summary>A string option, or <paramref name="def"/> when absent.</summary>
    public string? String(string name, string? def = null)
    {
        _used.Add(name);
        if (!_options.TryGetValue(name, out var v)) return def;
        return v ?? throw new UsageException($"option --{name} needs a value");
    }

    /// <summary>A string option restricted to <paramref name="choices"/>.</summary>
    public string Choice(string name, string def, params string[] choices)
    {
        var v = String(name, def)!;
        if (!choices.Contains(v)) throw new UsageException($"--{name} '{v}' is not one of: {string.Join(", ", choices)}");
        return v;
    }

    /// <summary>An integer option.</summary>
    public int Int(string name, int def) => (int)Long(name, def);

    /// <summary>A 64-bit integer option.</summary>
    public long Long(string name, long def)
    {
        var v = String(name);
        if (v is null) return def;
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var r))
            throw new UsageException($"--{name} expects an integer, got '{v}'");
        return r;
    }

    /// <summary>An integer option that may be absent (null).</summary>
    public int? IntOrNull(string name) => Has(name) ? Int(name, 0) : null;

    /// <summary>A floating-point option (accepts 5e-4 style).</summary>
    public double Double(string name, double def)
    {
        var v = String(name);
        if (v is null) return def;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var r))
            throw new UsageException($"--{name} expects a number, got '{v}'");
        return r;
    }

    /// <summary>A floating-point option that may be absent (null).</summary>
    public double? DoubleOrNull(string name) => Has(name) ? Double(name, 0) : null;

    /// <summary>The next positional argument; throws naming <paramref name="what"/> when missing.</summary>
    public string Positional(string what)
    {
        if (_positionalsUsed >= _positionals.Count) throw new UsageException($"missing argument: {what}");
        return _positionals[_positionalsUsed++];
    }

    /// <summary>The next positional argument, or null.</summary>
    public string? PositionalOrNull() => _positionalsUsed < _positionals.Count ? _positionals[_positionalsUsed++] : null;

    /// <summary>Rejects options and positionals the command did not ask for.</summary>
    public void EnsureAllUsed()
    {
        var unknown = _options.Keys.Where(k => !_used.Contains(k) && k != "help").ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown.Select(u => "--" + u))}");
        if (_positionalsUsed < _positionals.Count) throw new UsageException($"unexpected argument '{_positionals[_positionalsUsed]}'");
    }
}

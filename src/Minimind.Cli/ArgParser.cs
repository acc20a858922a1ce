using System.Globalization;

namespace Minimind.Cli;

/// <summary>
/// GNU-style parser over a command's <see cref="OptionTable"/>: <c>--name value</c>, <c>--name=value</c>,
/// boolean <c>--flag [true|false]</c>, positionals. Values are parsed and validated by the declared
/// option (errors name the flag and the value); <see cref="EnsureAllUsed"/> rejects anything the
/// command did not take, suggesting the nearest valid name, so a typo never falls back to a default.
/// </summary>
/// <remarks>Own parser rather than System.CommandLine: a table of plain objects, no reflection, nothing for the single-file trimmer to warn about.</remarks>
public sealed class ArgParser
{
    private readonly List<string> _positionals = new();
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private int _positionalsUsed;

    /// <summary>Parses the arguments after the command name against <paramref name="table"/> (null: accept any name, for tests of a piece).</summary>
    public ArgParser(IEnumerable<string> args, OptionTable? table = null)
    {
        Table = table;
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
                var declared = table?.Find(name);
                if (value is null && i + 1 < list.Count)
                {
                    // A declared flag takes only an explicit true/false after it; anything else is the next argument.
                    bool take = declared?.Kind == OptionKind.Flag ? IsBool(list[i + 1]) : !IsOptionLike(list[i + 1]);
                    if (take) value = list[++i];
                }
                if (_options.ContainsKey(name)) throw new UsageException($"option --{name} given twice");
                _options[name] = value;
                declared?.ParseUntyped(value); // bad values fail now, naming the flag, even if the command never reads them
            }
            else if (a == "-h") _options["help"] = null;
            else _positionals.Add(a);
        }
    }

    /// <summary>The table the arguments were parsed against, or null.</summary>
    public OptionTable? Table { get; }

    private static bool IsBool(string s) => s.ToLowerInvariant() is "true" or "false" or "1" or "0" or "yes" or "no";

    private static bool IsOptionLike(string s) =>
        s.StartsWith("--", StringComparison.Ordinal) && s.Length > 2 && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>True when --help or -h was given.</summary>
    public bool WantsHelp => _options.ContainsKey("help");

    /// <summary>The option's value, or its default in the first of <paramref name="modes"/> that has one (see <see cref="CliOption{T}.Or"/>).</summary>
    public T Get<T>(CliOption<T> option, params string[] modes)
    {
        Declared(option);
        if (!_options.TryGetValue(option.Name, out var v)) return option.DefaultIn(modes);
        return option.Parse(v);
    }

    /// <summary>The option's value, or its default (<see cref="CliOption{T}.AltDefault"/>, the first mode's, when <paramref name="alt"/>).</summary>
    public T Get<T>(CliOption<T> option, bool alt)
    {
        Declared(option);
        if (!_options.TryGetValue(option.Name, out var v)) return alt ? option.AltDefault : option.Default;
        return option.Parse(v);
    }

    /// <summary>The value of a required option; names it when missing.</summary>
    public string Require(CliOption<string?> option) =>
        Get(option) ?? throw new UsageException($"--{option.Name} {option.Meta} is {option.RequiredText ?? "required"}");

    /// <summary>True when the option was given on the command line.</summary>
    public bool Has(CliOption option) { Declared(option); return _options.ContainsKey(option.Name); }

    private void Declared(CliOption o)
    {
        if (Table is not null && !Table.Contains(o))
            throw new InvalidOperationException($"minimind {Table.Command} reads --{o.Name}, which its option table does not declare");
        _used.Add(o.Name);
    }

    // ---- positionals and the final check -------------------------------------------------------------------

    /// <summary>The next positional argument; throws naming <paramref name="what"/> when missing.</summary>
    public string Positional(string what)
    {
        if (_positionalsUsed >= _positionals.Count) throw new UsageException($"missing argument: {what}");
        return _positionals[_positionalsUsed++];
    }

    /// <summary>The next positional argument, or null.</summary>
    public string? PositionalOrNull() => _positionalsUsed < _positionals.Count ? _positionals[_positionalsUsed++] : null;

    /// <summary>Rejects options and positionals the command did not take: unknown names get the nearest valid one.</summary>
    public void EnsureAllUsed()
    {
        foreach (var k in _options.Keys)
        {
            if (_used.Contains(k) || k == "help") continue;
            if (Table is null) throw new UsageException($"unknown option --{k}");
            if (Table.Find(k) is not null) throw new UsageException($"option --{k} has no effect with the other options given");
            throw new UsageException(Table.Unknown(k));
        }
        if (_positionalsUsed < _positionals.Count) throw new UsageException($"unexpected argument '{_positionals[_positionalsUsed]}'");
    }
}

using System.Globalization;

namespace Minimind.Cli;

/// <summary>How an option's value is written on the command line.</summary>
public enum OptionKind
{
    /// <summary><c>--flag</c>, or <c>--flag true|false|1|0</c>.</summary>
    Flag,
    /// <summary><c>--name VALUE</c> or <c>--name=VALUE</c>.</summary>
    Value,
}

/// <summary>
/// One declared option: its name, value syntax, help line and default. The same object drives parsing,
/// the default, validation and <c>--help</c>, so they cannot drift apart.
/// </summary>
public abstract class CliOption
{
    private protected CliOption(string name, string meta, string help, OptionKind kind)
    {
        if (name.StartsWith('-') || name.Length == 0) throw new ArgumentException($"option name '{name}' must not start with '-'", nameof(name));
        Name = name; Meta = meta; Help = help; Kind = kind;
    }

    /// <summary>The name without the leading <c>--</c>.</summary>
    public string Name { get; }
    /// <summary>The value placeholder in --help (<c>N</c>, <c>X</c>, <c>f32|f16|bf16</c>); empty for a flag.</summary>
    public string Meta { get; }
    /// <summary>What the option does, one sentence.</summary>
    public string Help { get; }
    /// <summary>Flag or valued option.</summary>
    public OptionKind Kind { get; }
    /// <summary>The allowed values of a choice option, else null.</summary>
    public IReadOnlyList<string>? Choices { get; private protected init; }
    /// <summary>The default as --help shows it, or null when there is none to show.</summary>
    public abstract string? DefaultText { get; }
    /// <summary>"required" or "required unless ..." when the option has no default, else null.</summary>
    public string? RequiredText { get; private protected set; }
    /// <summary>The defaults of the command's modes (the built-in run, a --stage) as --help shows them ("built-in run: 3"), in declaration order.</summary>
    public abstract IReadOnlyList<string> ModeDefaultTexts { get; }
    /// <summary>Non-default values that parse and validate (for the tests that walk every table; one must take effect), or empty.</summary>
    public abstract IReadOnlyList<string> Samples { get; }
    /// <summary>Parses and validates <paramref name="text"/>, throwing a <see cref="UsageException"/> that names the flag and the value.</summary>
    public abstract object? ParseUntyped(string? text);

    /// <summary><c>--name META</c> as --help shows it.</summary>
    public string Syntax => Kind == OptionKind.Flag ? "--" + Name : $"--{Name} {Meta}";

    /// <summary>Formats a value the way the command line writes it.</summary>
    public static string Format(object? v) => v switch
    {
        null => "",
        bool b => b ? "true" : "false",
        double d => d.ToString("G", CultureInfo.InvariantCulture),
        float f => f.ToString("G", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}

/// <summary>A declared option whose value is a <typeparamref name="T"/>. Build them with <see cref="Opt"/>.</summary>
public sealed class CliOption<T> : CliOption
{
    private readonly Func<string, string, T> _parse;   // (flag, text) -> value; throws UsageException
    private readonly List<(Func<T, bool> ok, string rule)> _checks = new();
    private string? _defaultText;
    private string[] _samples = Array.Empty<string>();
    private readonly List<(string Mode, T Value)> _modes = new();

    internal CliOption(string name, string meta, string help, OptionKind kind, T def, Func<string, string, T> parse, IReadOnlyList<string>? choices = null)
        : base(name, meta, help, kind)
    {
        Default = def; _parse = parse; Choices = choices;
    }

    /// <summary>The value when the option is not given.</summary>
    public T Default { get; }
    /// <inheritdoc/>
    public override string? DefaultText => _defaultText ?? (Default is null ? null : Format(Default));
    /// <inheritdoc/>
    public override IReadOnlyList<string> ModeDefaultTexts => _modes.Select(m => $"{m.Mode}: {Format(m.Value)}").ToArray();
    /// <inheritdoc/>
    public override IReadOnlyList<string> Samples => _samples;

    /// <summary>The default in one mode of the command (<paramref name="mode"/> names it in --help: "built-in run", "--stage sft").</summary>
    public CliOption<T> Or(T value, string mode) { _modes.Add((mode, value)); return this; }

    /// <summary>The default of the first mode declared with <see cref="Or"/> (the built-in run's for train), else <see cref="Default"/>.</summary>
    public T AltDefault => _modes.Count > 0 ? _modes[0].Value : Default;

    /// <summary>The default when the command is in <paramref name="modes"/>: the first of them that has its own default, else <see cref="Default"/>.</summary>
    public T DefaultIn(IReadOnlyList<string> modes)
    {
        foreach (var m in modes)
            foreach (var (mode, value) in _modes)
                if (mode == m) return value;
        return Default;
    }

    /// <summary>Shows <paramref name="text"/> as the default (for defaults computed at run time).</summary>
    public CliOption<T> DefaultIs(string text) { _defaultText = text; return this; }

    /// <summary>Marks the option as required (<paramref name="unless"/>: the case where it is not, e.g. "--text").</summary>
    public CliOption<T> Required(string? unless = null) { RequiredText = unless is null ? "required" : "required unless " + unless; return this; }

    /// <summary>Adds a rule every given value must satisfy; <paramref name="rule"/> completes "--name V: ..." in the error.</summary>
    public CliOption<T> Check(Func<T, bool> ok, string rule) { _checks.Add((ok, rule)); return this; }

    /// <summary>Valid non-default values for the tests that walk every table (else one derived from the type); the first that takes effect counts.</summary>
    public CliOption<T> Sample(params string[] texts) { _samples = texts; return this; }

    /// <summary>Parses and validates one value.</summary>
    public T Parse(string? text)
    {
        if (text is null)
        {
            if (Kind == OptionKind.Flag) return _parse("--" + Name, "true");
            throw new UsageException($"option --{Name} needs a value ({Meta})");
        }
        var v = _parse("--" + Name, text);
        foreach (var (ok, rule) in _checks)
            if (!ok(v)) throw new UsageException($"--{Name} {text}: {rule}");
        return v;
    }

    /// <inheritdoc/>
    public override object? ParseUntyped(string? text) => Parse(text);
}

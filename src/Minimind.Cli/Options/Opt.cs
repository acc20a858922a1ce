using System.Globalization;

namespace Minimind.Cli;

/// <summary>Factories for <see cref="CliOption{T}"/>: one call declares an option's name, syntax, help and default.</summary>
public static class Opt
{
    /// <summary>A boolean flag (<c>--x</c>, <c>--x false</c>); default false unless given.</summary>
    public static CliOption<bool> Flag(string name, string help, bool def = false) =>
        new(name, "", help, OptionKind.Flag, def, ParseBool);

    /// <summary>A boolean flag that may be left unset (null: keep what the config says).</summary>
    public static CliOption<bool?> FlagOrNull(string name, string help) =>
        new(name, "", help, OptionKind.Flag, null, (f, t) => ParseBool(f, t));

    /// <summary>An integer.</summary>
    public static CliOption<int> Int(string name, string meta, int def, string help) =>
        new(name, meta, help, OptionKind.Value, def, (f, t) => ParseInt(f, t));

    /// <summary>An integer that may be left unset (null).</summary>
    public static CliOption<int?> IntOrNull(string name, string meta, string help) =>
        new(name, meta, help, OptionKind.Value, null, (f, t) => ParseInt(f, t));

    /// <summary>A 64-bit integer.</summary>
    public static CliOption<long> Long(string name, string meta, long def, string help) =>
        new(name, meta, help, OptionKind.Value, def, ParseLong);

    /// <summary>A 64-bit integer that may be left unset (null).</summary>
    public static CliOption<long?> LongOrNull(string name, string meta, string help) =>
        new(name, meta, help, OptionKind.Value, null, (f, t) => ParseLong(f, t));

    /// <summary>A number (accepts 5e-4 style).</summary>
    public static CliOption<double> Double(string name, string meta, double def, string help) =>
        new(name, meta, help, OptionKind.Value, def, ParseDouble);

    /// <summary>A number that may be left unset (null).</summary>
    public static CliOption<double?> DoubleOrNull(string name, string meta, string help) =>
        new(name, meta, help, OptionKind.Value, null, (f, t) => ParseDouble(f, t));

    /// <summary>A string (a path, a name).</summary>
    public static CliOption<string?> String(string name, string meta, string? def, string help) =>
        new(name, meta, help, OptionKind.Value, def, (_, t) => t);

    /// <summary>One of <paramref name="choices"/>; the --help placeholder lists them.</summary>
    public static CliOption<string> Choice(string name, string def, string help, params string[] choices) =>
        new(name, string.Join('|', choices), help, OptionKind.Value, def, (f, t) => CheckChoice(f, t, choices), choices);

    /// <summary>One of <paramref name="choices"/>, or unset (null).</summary>
    public static CliOption<string?> ChoiceOrNull(string name, string help, params string[] choices) =>
        new(name, string.Join('|', choices), help, OptionKind.Value, null, (f, t) => CheckChoice(f, t, choices), choices);

    /// <summary>The comma-separated positive integers <paramref name="list"/> given to <paramref name="option"/> (e.g. <c>--threads 1,2</c>),
    /// in order; a <see cref="UsageException"/> names the flag, the list and the item that is not one, with <paramref name="example"/>.</summary>
    public static int[] PositiveInts(CliOption option, string list, string example) =>
        list.Split(',', StringSplitOptions.TrimEntries).Select(c =>
            int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n
                : throw new UsageException($"--{option.Name} '{list}': '{c}' is not a positive integer (give e.g. {example})")).ToArray();

    /// <summary>Rule for <see cref="CliOption{T}.Check"/>: at least <paramref name="min"/>.</summary>
    public static CliOption<int> AtLeast(this CliOption<int> o, int min) => o.Check(v => v >= min, $"must be at least {min}");
    /// <summary>Rule: at least <paramref name="min"/> when given.</summary>
    public static CliOption<int?> AtLeast(this CliOption<int?> o, int min) => o.Check(v => v is null || v >= min, $"must be at least {min}");
    /// <summary>Rule: at least <paramref name="min"/>.</summary>
    public static CliOption<long> AtLeast(this CliOption<long> o, long min) => o.Check(v => v >= min, $"must be at least {min}");
    /// <summary>Rule: at least <paramref name="min"/> when given.</summary>
    public static CliOption<long?> AtLeast(this CliOption<long?> o, long min) => o.Check(v => v is null || v >= min, $"must be at least {min}");
    /// <summary>Rule: finite and at least <paramref name="min"/>.</summary>
    public static CliOption<double> AtLeast(this CliOption<double> o, double min) =>
        o.Check(v => double.IsFinite(v) && v >= min, $"must be a finite number >= {min.ToString(CultureInfo.InvariantCulture)}");
    /// <summary>Rule: finite and at least <paramref name="min"/> when given.</summary>
    public static CliOption<double?> AtLeast(this CliOption<double?> o, double min) =>
        o.Check(v => v is null || (double.IsFinite(v.Value) && v >= min), $"must be a finite number >= {min.ToString(CultureInfo.InvariantCulture)}");
    /// <summary>Rule: finite and above zero.</summary>
    public static CliOption<double> Positive(this CliOption<double> o) => o.Check(v => double.IsFinite(v) && v > 0, "must be a finite number above 0");
    /// <summary>Rule: finite and above zero when given.</summary>
    public static CliOption<double?> Positive(this CliOption<double?> o) => o.Check(v => v is null || (double.IsFinite(v.Value) && v > 0), "must be a finite number above 0");

    private static bool ParseBool(string flag, string t) => t.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new UsageException($"{flag} '{t}': expected true or false"),
    };

    private static int ParseInt(string flag, string t)
    {
        long v = ParseLong(flag, t);
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new UsageException($"{flag} '{t}': out of range for a 32-bit integer");
    }

    private static long ParseLong(string flag, string t)
    {
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var r)) return r;
        // 1e6 style is common in MiniMind's scripts; accept it when it is an exact integer.
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e15) return (long)d;
        throw new UsageException($"{flag} '{t}': expected an integer");
    }

    private static double ParseDouble(string flag, string t) =>
        double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r : throw new UsageException($"{flag} '{t}': expected a number");

    private static string CheckChoice(string flag, string t, string[] choices) =>
        choices.Contains(t) ? t : throw new UsageException($"{flag} '{t}' is not one of: {string.Join(", ", choices)}{Suggest.Nearest(t, choices, " (did you mean '{0}'?)")}");
}

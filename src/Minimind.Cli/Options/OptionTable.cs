using System.Text;

namespace Minimind.Cli;

/// <summary>
/// Everything a command accepts, declared once: usage lines, description, option groups, examples and
/// sub-commands. <see cref="ArgParser"/> parses against it and <see cref="RenderHelp"/> prints it, so
/// parsing, defaults, validation and --help come from the same objects.
/// </summary>
public sealed class OptionTable
{
    private readonly Dictionary<string, CliOption> _byName = new(StringComparer.Ordinal);

    /// <summary>Declares a command's table; throws when two options share a name.</summary>
    public OptionTable(string command, string[] usage, string description, OptionGroup[] groups, string[]? examples = null, string? epilog = null)
    {
        Command = command; Usage = usage; Description = description; Groups = groups;
        Examples = examples ?? Array.Empty<string>(); Epilog = epilog;
        foreach (var o in groups.SelectMany(g => g.Options))
            if (!_byName.TryAdd(o.Name, o)) throw new InvalidOperationException($"{command}: option --{o.Name} declared twice");
        if (_byName.ContainsKey("help")) throw new InvalidOperationException($"{command}: --help is built in");
    }

    /// <summary>The words after <c>minimind</c> (<c>train</c>, <c>kernels check</c>).</summary>
    public string Command { get; }
    /// <summary>Usage lines, each without the leading "minimind ".</summary>
    public IReadOnlyList<string> Usage { get; }
    /// <summary>What the command does (a paragraph or two).</summary>
    public string Description { get; }
    /// <summary>The options, grouped as --help shows them.</summary>
    public IReadOnlyList<OptionGroup> Groups { get; }
    /// <summary>Example command lines, each without the leading "minimind ".</summary>
    public IReadOnlyList<string> Examples { get; }
    /// <summary>Text after the options (signals, notes), or null.</summary>
    public string? Epilog { get; }
    /// <summary>Sub-commands (<c>kernels check|bench|ptx</c>), each with its own table; empty for most commands.</summary>
    public IReadOnlyList<(string Name, string Summary, OptionTable Table)> Subcommands { get; init; } = Array.Empty<(string, string, OptionTable)>();

    /// <summary>Every option, in --help order.</summary>
    public IEnumerable<CliOption> Options => Groups.SelectMany(g => g.Options);

    /// <summary>The option named <paramref name="name"/> (without <c>--</c>), or null.</summary>
    public CliOption? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>True when <paramref name="o"/> belongs to this table.</summary>
    public bool Contains(CliOption o) => _byName.TryGetValue(o.Name, out var mine) && ReferenceEquals(mine, o);

    /// <summary>The table of sub-command <paramref name="name"/>, or null.</summary>
    public OptionTable? Sub(string? name) => Subcommands.FirstOrDefault(s => s.Name == name).Table;

    /// <summary>The error text for an option not in the table, with the nearest valid name.</summary>
    public string Unknown(string name) =>
        $"unknown option --{name}{Suggest.Nearest(name, _byName.Keys.Append("help"), "; did you mean --{0}?")}";

    /// <summary>The default as --help shows it ("1; built-in run: 3"), or null for none (a flag that is off).</summary>
    public static string? ShownDefault(CliOption o)
    {
        string? d = o.Kind == OptionKind.Flag && o.DefaultText == "false" ? null : o.DefaultText;
        var parts = (d is null ? Array.Empty<string>() : new[] { d }).Concat(o.ModeDefaultTexts).ToList();
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    private const int Col = 28, Width = 110;

    /// <summary>The full --help text; <paramref name="visible"/> hides options (a mode's page), <paramref name="shownDefault"/>
    /// replaces an option's shown default when it returns text.</summary>
    public string RenderHelp(Func<CliOption, bool>? visible = null, Func<CliOption, string?>? shownDefault = null)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Usage.Count; i++) sb.Append(i == 0 ? "Usage: " : "       ").Append("minimind ").AppendLine(Usage[i]);
        sb.AppendLine().AppendLine(Description.TrimEnd());
        foreach (var (name, summary, _) in Subcommands)
        {
            if (name == Subcommands[0].Name) sb.AppendLine().AppendLine("Sub-commands (minimind " + Command + " <sub-command> --help for each one's options):");
            sb.Append("  ").Append(name.PadRight(Col - 2)).AppendLine(summary);
        }
        foreach (var g in Groups)
        {
            var shown = g.Options.Where(o => visible?.Invoke(o) ?? true).ToList();
            if (shown.Count == 0) continue;
            sb.AppendLine().Append(g.Title).AppendLine(":");
            foreach (var o in shown)
            {
                var d = shownDefault?.Invoke(o) ?? ShownDefault(o);
                Wrap(sb, "  " + o.Syntax, o.Help + (o.RequiredText is { } r ? $" ({r})" : "") + (d is null ? "" : $" (default: {d})"));
            }
            if (g.Note is not null) foreach (var line in g.Note.TrimEnd().Split('\n')) sb.Append("  ").AppendLine(line.TrimEnd());
        }
        if (Epilog is not null) sb.AppendLine().AppendLine(Epilog.TrimEnd());
        if (Examples.Count > 0)
        {
            sb.AppendLine().AppendLine(Examples.Count == 1 ? "Example:" : "Examples:");
            // "mpirun -np 2 minimind train", "printf ... | minimind chat": already a whole command line
            foreach (var e in Examples) sb.Append(e.Contains("minimind ", StringComparison.Ordinal) ? "  " : "  minimind ").AppendLine(e);
        }
        return sb.ToString().TrimEnd();
    }

    // "  --name META" in the first column, the help text word-wrapped in the second (as argparse does).
    private static void Wrap(StringBuilder sb, string left, string text)
    {
        var line = new StringBuilder(left.Length >= Col - 1 ? left + "\n" + new string(' ', Col) : left.PadRight(Col));
        int lineStart = line.ToString().LastIndexOf('\n') + 1;
        bool first = true;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!first && line.Length - lineStart + 1 + word.Length > Width)
            {
                sb.AppendLine(line.ToString().TrimEnd());
                line.Clear().Append(' ', Col); lineStart = 0;
                first = true;
            }
            if (!first) line.Append(' ');
            line.Append(word);
            first = false;
        }
        sb.AppendLine(line.ToString().TrimEnd());
    }
}

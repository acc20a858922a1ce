namespace Minimind.Cli;

/// <summary>A titled list of options, shown together in --help; shared groups (architecture, device) are declared once and reused.</summary>
public sealed class OptionGroup
{
    /// <summary>A group titled <paramref name="title"/> holding <paramref name="options"/> in --help order.</summary>
    public OptionGroup(string title, params CliOption[] options) : this(title, null, options) { }

    /// <summary>As above, with a note printed under the group's options.</summary>
    public OptionGroup(string title, string? note, params CliOption[] options)
    {
        Title = title; Note = note; Options = options;
    }

    /// <summary>The heading in --help.</summary>
    public string Title { get; }
    /// <summary>Text printed after the options, or null.</summary>
    public string? Note { get; }
    /// <summary>The options, in --help order.</summary>
    public IReadOnlyList<CliOption> Options { get; }

    /// <summary>This group without <paramref name="drop"/> (a command that gives those names another meaning).</summary>
    public OptionGroup Without(params CliOption[] drop) => new(Title, Note, Options.Where(o => !drop.Contains(o)).ToArray());

    /// <summary>This group with <paramref name="extra"/> appended.</summary>
    public OptionGroup With(params CliOption[] extra) => new(Title, Note, Options.Concat(extra).ToArray());

    /// <summary>This group with another title and note.</summary>
    public OptionGroup Titled(string title, string? note = null) => new(title, note, Options.ToArray());
}

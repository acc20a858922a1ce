namespace Minimind.Cli;

/// <summary>A <c>minimind</c> sub-command. One class per command, registered in <see cref="Program"/>.</summary>
public interface ICommand
{
    /// <summary>The word typed after <c>minimind</c>.</summary>
    string Name { get; }
    /// <summary>One line for the command list.</summary>
    string Summary { get; }
    /// <summary>Everything the command accepts: parsing, defaults, validation and --help come from it.</summary>
    OptionTable? Options => null;
    /// <summary>Full <c>--help</c> text: usage, every option with its default, examples.</summary>
    string Help => Options?.RenderHelp() ?? "";
    /// <summary>A --help page that depends on the other arguments (e.g. <c>train --stage sft --help</c>), or null for <see cref="Help"/>.</summary>
    string? HelpFor(IReadOnlyList<string> args) => null;
    /// <summary>Runs the command; returns the process exit code.</summary>
    int Run(ArgParser args);
}

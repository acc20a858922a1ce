namespace Minimind.Cli;

/// <summary>A <c>minimind</c> sub-command. One class per command, registered in <see cref="Program"/>.</summary>
public interface ICommand
{
    /// <summary>The word typed after <c>minimind</c>.</summary>
    string Name { get; }
    /// <summary>One line for the command list.</summary>
    string Summary { get; }
    /// <summary>Full <c>--help</c> text: usage, every option with its default, examples.</summary>
    string Help { get; }
    /// <summary>The <c>--help</c> text for these arguments (a command whose help depends on an option, such as <c>train --stage</c>, overrides it).</summary>
    string HelpFor(ArgParser args) => Help;
    /// <summary>Runs the command; returns the process exit code.</summary>
    int Run(ArgParser args);
}

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
    /// <summary>Runs the command; returns the process exit code.</summary>
    int Run(ArgParser args);
}

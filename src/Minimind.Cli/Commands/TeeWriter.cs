using System.Text;

namespace Minimind.Cli.Commands;

/// <summary>Writes everything to two writers: a command's output to the console and to the text its --plot chart is drawn from.</summary>
internal sealed class TeeWriter(TextWriter first, TextWriter second) : TextWriter
{
    /// <inheritdoc/>
    public override Encoding Encoding => first.Encoding;
    /// <inheritdoc/>
    public override void Write(char value) { first.Write(value); second.Write(value); }
    /// <inheritdoc/>
    public override void Write(string? value) { first.Write(value); second.Write(value); }
    /// <inheritdoc/>
    public override void WriteLine(string? value) { first.WriteLine(value); second.WriteLine(value); }
    /// <inheritdoc/>
    public override void Flush() { first.Flush(); second.Flush(); }
}

namespace Minimind.Model.Chat.Jinja;

/// <summary>
/// A chat template that cannot be parsed or rendered: a syntax error, a construct this interpreter does not
/// support (named in the message), a Python-side error Jinja would raise, or the template's own
/// <c>raise_exception(...)</c>. The message names the template and its line.
/// </summary>
public sealed class JinjaException : Exception
{
    /// <summary>True when the template itself called <c>raise_exception</c>.</summary>
    public bool RaisedByTemplate { get; }

    /// <summary>Creates the exception.</summary>
    public JinjaException(string message, bool raisedByTemplate = false) : base(message) => RaisedByTemplate = raisedByTemplate;
}

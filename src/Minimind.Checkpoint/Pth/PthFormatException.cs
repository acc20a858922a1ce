namespace Minimind.Checkpoint;

/// <summary>
/// A checkpoint file is malformed, truncated, unsafe (a pickle opcode or global outside the
/// <c>weights_only</c> subset) or inconsistent. The message names the file and, for pickle
/// problems, the byte offset inside the pickle.
/// </summary>
public sealed class PthFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public PthFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner cause.</summary>
    public PthFormatException(string message, Exception inner) : base(message, inner) { }
}

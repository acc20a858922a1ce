namespace Minimind.Model.Generation;

/// <summary>A prompt that does not fit the model's context (--max-seq-len): the caller can skip that message and go on.</summary>
public sealed class ContextOverflowException(string message) : ArgumentException(message);

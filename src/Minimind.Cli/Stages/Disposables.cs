namespace Minimind.Cli.Stages;

/// <summary>What a stage keeps beside its trained model (its engine, a reference, a reward client), released together.</summary>
internal sealed class Disposables(params IDisposable?[] items) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() { foreach (var d in items) d?.Dispose(); }
}

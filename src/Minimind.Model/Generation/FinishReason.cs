namespace Minimind.Model.Generation;

/// <summary>Why a sequence stopped generating (<see cref="None"/> while it runs).</summary>
public enum FinishReason
{
    /// <summary>Still generating (or never stepped).</summary>
    None,
    /// <summary>It sampled one of its stop ids (eos); that token is its last, emitted but not fed to the model.</summary>
    Stop,
    /// <summary>It generated its <see cref="GenerationRequest.MaxNewTokens"/>.</summary>
    Length,
    /// <summary>Its last token reached the engine's context (position offset + tokens = <see cref="RolloutEngine.Context"/>).</summary>
    Context,
    /// <summary><see cref="RolloutEngine.Cancel"/> stopped it.</summary>
    Cancelled,
}

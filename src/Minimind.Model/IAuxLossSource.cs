namespace Minimind.Model;

/// <summary>Something whose last <c>ForwardBackward</c> included a MoE load-balancing loss (for the metrics).</summary>
public interface IAuxLossSource
{
    /// <summary>The aux-loss part of the last ForwardBackward's loss (0 for a dense model).</summary>
    float LastAuxLoss { get; }
}

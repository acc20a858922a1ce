namespace Minimind.Training.Stages;

/// <summary>
/// Where a micro-batch sits in the run's data order: micro-batch <see cref="MicroBatch"/> of epoch <see cref="Epoch"/>,
/// rows of <see cref="BatchSize"/> prompts. The same micro-batch has the same place whichever rank computes it and
/// however many micro-batches a step or a rank takes (data parallel hands rank r the step's global block r), so what a
/// stage derives from it — the RL stages' per-prompt rollout seeds — does not depend on the world size.
/// </summary>
/// <param name="Epoch">The epoch (0-based).</param>
/// <param name="MicroBatch">The micro-batch's index within the epoch (over all ranks).</param>
/// <param name="BatchSize">Prompts (rows) per micro-batch (--batch-size).</param>
public readonly record struct BatchPlace(int Epoch, long MicroBatch, int BatchSize)
{
    /// <summary>The global index within the epoch of row <paramref name="row"/>'s sample: its position in the epoch's order.</summary>
    public long SampleIndex(int row) => MicroBatch * BatchSize + row;
}

namespace Minimind.Model.Data.Sft;

/// <summary>
/// Preference pairs for DPO, addressable by index: a chosen and a rejected row, each <see cref="SeqLen"/> inputs and
/// targets laid out as an SFT row (<see cref="SftLabels.Shift"/>: targets are <see cref="Batch.IgnoreIndex"/> outside
/// the assistant spans, i.e. where MiniMind's <c>mask_chosen</c>/<c>mask_rejected</c> is 0).
/// </summary>
public interface IPreferenceSource
{
    /// <summary>Number of pairs.</summary>
    long Count { get; }
    /// <summary>Ids per row (max_seq_len − 1).</summary>
    int SeqLen { get; }
    /// <summary>Writes pair <paramref name="index"/> into four spans of length <see cref="SeqLen"/>.</summary>
    void Fill(long index, Span<int> chosenInputs, Span<int> chosenTargets, Span<int> rejectedInputs, Span<int> rejectedTargets);
}

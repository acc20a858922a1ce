namespace Minimind.Model.Data.Sft;

/// <summary>
/// One side (chosen or rejected) of an <see cref="IPreferenceSource"/> seen as an <see cref="IPretrainSource"/>,
/// the form <c>Minimind.Training.Stages.DpoStage</c> takes: sample i is side i of pair i.
/// </summary>
public sealed class PreferenceSide : IPretrainSource
{
    private readonly IPreferenceSource _pairs;
    private readonly bool _rejected;

    private PreferenceSide(IPreferenceSource pairs, bool rejected) { _pairs = pairs; _rejected = rejected; }

    /// <summary>The chosen and the rejected side of <paramref name="pairs"/>.</summary>
    public static (PreferenceSide Chosen, PreferenceSide Rejected) Split(IPreferenceSource pairs) => (new(pairs, false), new(pairs, true));

    /// <summary>The pairs this side reads.</summary>
    public IPreferenceSource Pairs => _pairs;
    /// <inheritdoc/>
    public long Count => _pairs.Count;
    /// <inheritdoc/>
    public int SeqLen => _pairs.SeqLen;

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        // The other side goes to scratch (a row is a few KB; no state shared between callers).
        var otherInputs = new int[SeqLen];
        var otherTargets = new int[SeqLen];
        if (_rejected) _pairs.Fill(index, otherInputs, otherTargets, inputs, targets);
        else _pairs.Fill(index, inputs, targets, otherInputs, otherTargets);
    }
}

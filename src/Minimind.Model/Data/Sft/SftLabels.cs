namespace Minimind.Model.Data.Sft;

/// <summary>
/// MiniMind's label rule (<c>SFTDataset.generate_labels</c>, and <c>DPODataset.generate_loss_mask</c> which marks
/// the same positions): scanning the padded row, every occurrence of the assistant-start ids opens a span right
/// after them that runs through the next turn-end ids inclusive (or to the row's end when there is none); only
/// span positions keep their id, the rest are <see cref="Batch.IgnoreIndex"/>.
/// </summary>
public static class SftLabels
{
    /// <summary>Writes the labels of <paramref name="row"/> (max_len ids, padded) into <paramref name="labels"/>; returns the labelled count.</summary>
    public static int Generate(ReadOnlySpan<int> row, ReadOnlySpan<int> assistantStart, ReadOnlySpan<int> turnEnd, Span<int> labels)
    {
        int n = row.Length;
        if (labels.Length != n) throw new ArgumentException($"labels must hold {n} ids, got {labels.Length}");
        labels.Fill(Batch.IgnoreIndex);
        int labelled = 0, i = 0;
        while (i < n)
        {
            if (!StartsWith(row, i, assistantStart)) { i++; continue; }
            int start = i + assistantStart.Length, end = start;
            while (end < n && !StartsWith(row, end, turnEnd)) end++;
            for (int j = start; j < Math.Min(end + turnEnd.Length, n); j++) { labels[j] = row[j]; labelled++; }
            i = end < n ? end + turnEnd.Length : n;
        }
        return labelled;
    }

    // Python's ids[i:i+len(m)] == m: a slice cut short by the row's end never matches.
    private static bool StartsWith(ReadOnlySpan<int> row, int at, ReadOnlySpan<int> marker) =>
        at + marker.Length <= row.Length && row.Slice(at, marker.Length).SequenceEqual(marker);

    /// <summary>
    /// The model's view of a labelled row, as MiniMind's loss shifts it (<c>logits[:, :-1]</c> vs <c>labels[:, 1:]</c>):
    /// inputs = row[:-1], targets = labels[1:]. Returns the number of targets that are not ignored.
    /// </summary>
    public static int Shift(ReadOnlySpan<int> row, ReadOnlySpan<int> labels, Span<int> inputs, Span<int> targets)
    {
        int seq = row.Length - 1;
        if (inputs.Length != seq || targets.Length != seq)
            throw new ArgumentException($"inputs/targets must hold {seq} ids (row length − 1), got {inputs.Length} and {targets.Length}");
        row[..seq].CopyTo(inputs);
        labels[1..].CopyTo(targets);
        int n = 0;
        foreach (int t in targets) if (t != Batch.IgnoreIndex) n++;
        return n;
    }
}

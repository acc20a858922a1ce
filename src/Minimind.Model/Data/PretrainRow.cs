namespace Minimind.Model.Data;

/// <summary>
/// MiniMind's pretraining row convention (PretrainDataset in <c>dataset/lm_dataset.py</c>, 2025 and 2026
/// generations): <c>tokens = [bos] + encode(text)[:max_len-2] + [eos]</c>, padded with pad to max_len;
/// the model sees <c>inputs = tokens[:-1]</c> and predicts <c>targets = tokens[1:]</c>, where every target
/// equal to the pad id is <see cref="Batch.IgnoreIndex"/> (the Python code masks <c>labels[input_ids == pad]</c>,
/// which also masks a pad id written inside the text; we do the same).
/// </summary>
public static class PretrainRow
{
    /// <summary>
    /// Builds the full row of <paramref name="row"/>.Length = max_len tokens from the text's ids (truncated
    /// to max_len − 2). Returns the number of non-pad positions (bos + text + eos).
    /// </summary>
    public static int Build(ReadOnlySpan<int> textIds, int bosId, int eosId, int padId, Span<int> row)
    {
        int maxLen = row.Length;
        if (maxLen < 3) throw new ArgumentException($"max sequence length {maxLen} is too short: a row needs at least bos, one token and eos");
        int n = Math.Min(textIds.Length, maxLen - 2);
        row[0] = bosId;
        textIds[..n].CopyTo(row[1..]);
        row[n + 1] = eosId;
        row[(n + 2)..].Fill(padId);
        return n + 2;
    }

    /// <summary>Splits a full row into inputs (row[:-1]) and targets (row[1:], pad → IgnoreIndex).</summary>
    public static void Shift(ReadOnlySpan<int> row, int padId, Span<int> inputs, Span<int> targets)
    {
        int seq = row.Length - 1;
        if (inputs.Length != seq || targets.Length != seq)
            throw new ArgumentException($"inputs/targets must hold {seq} ids (row length − 1), got {inputs.Length} and {targets.Length}");
        row[..seq].CopyTo(inputs);
        for (int t = 0; t < seq; t++)
        {
            int y = row[t + 1];
            targets[t] = y == padId ? Batch.IgnoreIndex : y;
        }
    }
}

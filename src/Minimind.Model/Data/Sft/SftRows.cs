using Minimind.Model.Chat;

namespace Minimind.Model.Data.Sft;

/// <summary>
/// Rendered-and-tokenized rows packed in memory (ids before padding, at most max_seq_len each), with the
/// padded row and MiniMind's labels rebuilt on demand — the storage shared by <see cref="SftSource"/> and
/// <see cref="DpoPairSource"/>.
/// </summary>
internal sealed class SftRows
{
    private readonly List<int> _ids = new();
    private readonly List<long> _offsets = new() { 0 };
    private readonly ChatFormat _format;
    public readonly int MaxSeqLen;

    public SftRows(ChatFormat format, int maxSeqLen)
    {
        if (maxSeqLen < 3) throw new ArgumentException($"--max-seq-len {maxSeqLen} is too short (at least 3)");
        _format = format;
        MaxSeqLen = maxSeqLen;
    }

    public int Count => _offsets.Count - 1;

    /// <summary>
    /// Applies <paramref name="overflow"/> to a row of <paramref name="ids"/>: the ids (cut to max_seq_len when
    /// truncating), or null when the row is skipped (counted in <paramref name="stats"/>).
    /// </summary>
    public int[]? Fit(int[] ids, SftOverflow overflow, string origin, SftStats stats, out bool truncated)
    {
        truncated = false;
        if (ids.Length <= MaxSeqLen) return ids;
        switch (overflow)
        {
            case SftOverflow.Error:
                throw new InvalidDataException($"{origin}: the conversation is {ids.Length} tokens, longer than --max-seq-len {MaxSeqLen} (use --sft-overflow skip or truncate)");
            case SftOverflow.Skip:
                stats.Skip($"longer than --max-seq-len {MaxSeqLen}", origin);
                return null;
            default:
                truncated = true;
                return ids[..MaxSeqLen];
        }
    }

    public void Add(int[] ids)
    {
        _ids.AddRange(ids);
        _offsets.Add(_ids.Count);
    }

    /// <summary>The padded row (pad id as MiniMind: the tokenizer's pad) and its labels; returns the labelled count.</summary>
    public int Build(int index, Span<int> row, Span<int> labels)
    {
        int start = (int)_offsets[index], len = (int)(_offsets[index + 1] - start);
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids).Slice(start, len).CopyTo(row);
        row[len..].Fill(_format.Tokenizer.PadId);
        return SftLabels.Generate(row, _format.AssistantStart, _format.TurnEnd, labels);
    }

    /// <summary>Inputs and shifted targets of row <paramref name="index"/> (see <see cref="SftLabels.Shift"/>).</summary>
    public int Fill(int index, Span<int> inputs, Span<int> targets)
    {
        Span<int> row = MaxSeqLen <= 4096 ? stackalloc int[MaxSeqLen] : new int[MaxSeqLen];
        Span<int> labels = MaxSeqLen <= 4096 ? stackalloc int[MaxSeqLen] : new int[MaxSeqLen];
        Build(index, row, labels);
        return SftLabels.Shift(row, labels, inputs, targets);
    }

    /// <summary>Labelled positions of row <paramref name="index"/> after the shift.</summary>
    public int CountLabels(int index)
    {
        var inputs = new int[MaxSeqLen - 1];
        var targets = new int[MaxSeqLen - 1];
        return Fill(index, inputs, targets);
    }

    /// <summary>Drops the row added last.</summary>
    public void RemoveLast()
    {
        int start = (int)_offsets[^2];
        _ids.RemoveRange(start, _ids.Count - start);
        _offsets.RemoveAt(_offsets.Count - 1);
    }

    public int Length(int index) => (int)(_offsets[index + 1] - _offsets[index]);
}

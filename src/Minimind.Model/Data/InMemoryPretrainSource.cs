namespace Minimind.Model.Data;

/// <summary>
/// Pretraining samples held in memory as the (already truncated) token ids of each text, packed into one
/// array (uint16 when every id fits, else int32, to halve the memory of real corpora); rows are built on demand
/// with <see cref="PretrainRow"/>.
/// </summary>
public sealed class InMemoryPretrainSource : IPretrainSource
{
    private readonly int[]? _ids;
    private readonly ushort[]? _ids16;
    private readonly long[] _offsets; // text k is _ids[_offsets[k] .. _offsets[k+1]]
    private readonly int _bos, _eos, _pad, _maxLen;

    /// <inheritdoc/>
    public long Count => _offsets.Length - 1;
    /// <inheritdoc/>
    public int SeqLen => _maxLen - 1;
    /// <summary>Row length before the shift (max_seq_len).</summary>
    public int MaxSeqLen => _maxLen;
    /// <summary>Total text tokens stored (after truncation).</summary>
    public long TokenCount => _offsets[^1];

    /// <summary>Creates the source from packed text ids and their offsets (Count + 1 entries).</summary>
    public InMemoryPretrainSource(int[] ids, long[] offsets, int maxSeqLen, int bosId, int eosId, int padId)
        : this(ids, null, offsets, maxSeqLen, bosId, eosId, padId) { }

    private InMemoryPretrainSource(int[]? ids, ushort[]? ids16, long[] offsets, int maxSeqLen, int bosId, int eosId, int padId)
    {
        if (maxSeqLen < 3) throw new ArgumentException($"--max-seq-len {maxSeqLen} is too short (at least 3)");
        long n = ids?.Length ?? ids16!.Length;
        if (offsets.Length < 1 || offsets[0] != 0 || offsets[^1] != n) throw new ArgumentException("offsets do not describe ids");
        _ids = ids; _ids16 = ids16; _offsets = offsets; _maxLen = maxSeqLen; _bos = bosId; _eos = eosId; _pad = padId;
    }

    /// <summary>Tokenizes <paramref name="texts"/> with <paramref name="tokenizer"/>, keeping at most max_seq_len − 2 ids each.</summary>
    public static InMemoryPretrainSource FromTexts(Tokenizer.ITokenizer tokenizer, IEnumerable<string> texts, int maxSeqLen)
    {
        var builder = new Builder(maxSeqLen);
        foreach (var t in texts) builder.Add(tokenizer.Encode(t));
        return builder.Build(tokenizer.BosId, tokenizer.EosId, tokenizer.PadId);
    }

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index), $"sample {index} of {Count}");
        int start = (int)_offsets[index], len = (int)(_offsets[index + 1] - _offsets[index]);
        Span<int> row = _maxLen <= 4096 ? stackalloc int[_maxLen] : new int[_maxLen];
        if (_ids is not null) PretrainRow.Build(_ids.AsSpan(start, len), _bos, _eos, _pad, row);
        else
        {
            Span<int> text = len <= 4096 ? stackalloc int[len] : new int[len];
            var src = _ids16.AsSpan(start, len);
            for (int i = 0; i < len; i++) text[i] = src[i];
            PretrainRow.Build(text, _bos, _eos, _pad, row);
        }
        PretrainRow.Shift(row, _pad, inputs, targets);
    }

    /// <summary>Accumulates texts' ids (truncated to max_seq_len − 2) into the packed layout.</summary>
    public sealed class Builder(int maxSeqLen)
    {
        private List<ushort>? _ids16 = new();
        private List<int>? _ids;            // used once an id does not fit 16 bits
        private readonly List<long> _offsets = new() { 0 };

        /// <summary>Texts added so far.</summary>
        public long Count => _offsets.Count - 1;

        /// <summary>Adds one text's ids.</summary>
        public void Add(ReadOnlySpan<int> textIds)
        {
            var keep = textIds[..Math.Min(textIds.Length, Math.Max(0, maxSeqLen - 2))];
            if (_ids16 is not null)
            {
                foreach (int id in keep)
                    if ((uint)id > ushort.MaxValue) { _ids = _ids16.Select(x => (int)x).ToList(); _ids16 = null; break; }
            }
            if (_ids16 is not null) foreach (int id in keep) _ids16.Add((ushort)id);
            else _ids!.AddRange(keep);
            _offsets.Add(_ids16?.Count ?? _ids!.Count);
        }

        /// <summary>The finished source.</summary>
        public InMemoryPretrainSource Build(int bosId, int eosId, int padId) =>
            new(_ids?.ToArray(), _ids16?.ToArray(), _offsets.ToArray(), maxSeqLen, bosId, eosId, padId);
    }
}

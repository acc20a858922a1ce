namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    /// <summary>
    /// Scores several continuations of the one prefix the KV cache holds (sequence 0, after
    /// <c>ResetCache(1)</c> and a <see cref="DecodeStep"/> prefill): copies the prefix's cached keys and values into
    /// sequences 1..<paramref name="branches"/>−1, runs <paramref name="ids"/> ([branches, tokens], each branch right-padded
    /// with any valid id) at positions CacheLength.., and returns the logits of every new row, [branches·tokens, V].
    /// The cache still holds just the prefix afterwards (CacheLength is unchanged), so the next call branches from it
    /// again. The prefix is computed once for all choices of a multiple-choice question.
    /// </summary>
    internal float[] BranchLogits(ReadOnlySpan<int> ids, int branches, int tokens)
    {
        if (_cache is null || CacheLength == 0) throw new InvalidOperationException("BranchLogits needs a prefix in the KV cache (ResetCache(1) and DecodeStep first)");
        if (branches <= 0 || branches > MaxBatch) throw new ArgumentException($"{branches} branches outside [1, {MaxBatch}] (the model was created for at most {MaxBatch})");
        if (tokens <= 0 || ids.Length != branches * tokens) throw new ArgumentException($"BranchLogits got {ids.Length} ids, expected {branches}×{tokens}");
        int past = CacheLength;
        if (past + tokens > MaxSeqLen)
            throw new ArgumentException($"prefix {past} + {tokens} tokens exceeds the context of {MaxSeqLen} (--max-seq-len)");
        var arr = ids.ToArray();
        CheckIds(arr, "input");
        long row = (long)Config.NKvHeads * Config.HeadDim, used = past * row, stride = MaxSeqLen * row;
        foreach (var (k, v) in _cache!)
            for (int b = 1; b < branches; b++)
            {
                Backend.Copy(k.Slice(b * stride, used), k.Slice(0, used));
                Backend.Copy(v.Slice(b * stride, used), v.Slice(0, used));
            }
        Backend.Upload(_ids, arr);
        Forward(branches, tokens, past, useCache: true);
        int rows = branches * tokens, vocab = Config.VocabSize;
        Backend.MatMul(Rows(_logits, rows, vocab), Rows(_lnF, rows, Config.Dim), W(_layout.Head), new(rows, vocab, Config.Dim, Precision));
        var host = new float[(long)rows * vocab];
        Backend.Download(Rows(_logits, rows, vocab), host);
        return host;
    }
}

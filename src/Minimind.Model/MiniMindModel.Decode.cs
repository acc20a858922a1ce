using Minimind.Kernels;

namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    private (Tensor k, Tensor v)[]? _cache;
    private int _cacheBatch;

    /// <summary>Tokens held in the KV cache (the position of the next token).</summary>
    public int CacheLength { get; private set; }

    /// <summary>Empties the KV cache for a new generation of <paramref name="batch"/> sequences
    /// (allocates the cache, [batch, MaxSeqLen, Hkv, hd] per layer, on first use).</summary>
    public void ResetCache(int batch = 1)
    {
        if (batch <= 0 || batch > MaxBatch) throw new ArgumentException($"batch {batch} outside [1, {MaxBatch}]");
        if (_cache is null)
        {
            long n = (long)MaxBatch * MaxSeqLen * Config.NKvHeads * Config.HeadDim;
            _cache = new (Tensor, Tensor)[Config.NLayers];
            for (int l = 0; l < _cache.Length; l++) _cache[l] = (Backend.Alloc(n), Backend.Alloc(n));
        }
        _cacheBatch = batch;
        CacheLength = 0;
    }

    /// <summary>
    /// Forgets cached positions from <paramref name="length"/> on, keeping the first <paramref name="length"/> tokens
    /// (a chat turn whose prompt shares that prefix with the cached sequence continues from there).
    /// </summary>
    public void RewindCache(int length)
    {
        if (_cache is null) throw new InvalidOperationException("call ResetCache before RewindCache");
        if (length < 0 || length > CacheLength) throw new ArgumentOutOfRangeException(nameof(length), $"cache holds {CacheLength} tokens, cannot keep {length}");
        CacheLength = length;
    }

    /// <summary>
    /// Feeds <paramref name="newTokens"/> tokens per sequence (ids [batch, newTokens]) at positions
    /// CacheLength.. through the model with the KV cache, and returns the logits of each sequence's last
    /// new token, [batch, V]. The prompt goes in one call (prefill), then one token per call.
    /// </summary>
    public float[] DecodeStep(ReadOnlySpan<int> ids, int newTokens)
    {
        if (_cache is null) throw new InvalidOperationException("call ResetCache before DecodeStep");
        int batch = _cacheBatch;
        if (newTokens <= 0 || ids.Length != batch * newTokens)
            throw new ArgumentException($"DecodeStep got {ids.Length} ids, expected {batch}×{newTokens}");
        if (CacheLength + newTokens > MaxSeqLen)
            throw new ArgumentException($"sequence would reach {CacheLength + newTokens} tokens, beyond the context of {MaxSeqLen} (--max-seq-len)");
        var arr = ids.ToArray();
        CheckIds(arr, "input");
        Backend.Upload(_ids, arr);
        Forward(batch, newTokens, CacheLength, useCache: true);
        CacheLength += newTokens;
        int v = Config.VocabSize, d = Config.Dim;
        var result = new float[(long)batch * v];
        var one = new float[v];
        for (int b = 0; b < batch; b++)
        {
            // the head only for the last row of each sequence
            long row = (long)b * newTokens + newTokens - 1;
            Backend.MatMul(_logits.Slice(0, v), _lnF.Slice(row * d, d), W(_layout.Head), new(1, v, d, Precision));
            Backend.Download(_logits.Slice(0, v), one);
            one.CopyTo(result.AsSpan(b * v, v));
        }
        return result;
    }

    private void DisposeCache()
    {
        if (_cache is null) return;
        foreach (var (k, v) in _cache) { k.Buffer.Dispose(); v.Buffer.Dispose(); }
        _cache = null;
    }
}

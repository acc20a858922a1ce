using System.Collections.Concurrent;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// The BPE model over bytes: initial symbols are single bytes, merges are applied lowest rank first and,
/// among equal ranks, leftmost first — the order HF's <c>Word::merge_all</c> priority queue produces.
/// Results of short words are cached (thread-safe) since natural text repeats words.
/// </summary>
public sealed class BpeMerges
{
    private const int MaxCachedWordChars = 64;
    private const int MaxCacheEntries = 200_000;

    private readonly int[] _byteIds;                    // id of each single-byte token, -1 if absent
    private readonly Dictionary<long, long> _merges;    // (left<<32 | right) -> (rank<<32 | merged id)
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    private int _cacheCount; // ConcurrentDictionary.Count takes every lock: too slow to ask per word

    /// <summary>Creates the model from the id of every byte and the ranked merges (left id, right id, merged id).</summary>
    public BpeMerges(int[] byteIds, IReadOnlyList<(int Left, int Right, int Merged)> merges)
    {
        if (byteIds.Length != 256) throw new ArgumentException("byteIds must hold 256 entries", nameof(byteIds));
        _byteIds = byteIds;
        _merges = new Dictionary<long, long>(merges.Count);
        for (int r = 0; r < merges.Count; r++)
        {
            var (a, b, m) = merges[r];
            // HF keeps the first rank when a pair is listed twice.
            _merges.TryAdd(Key(a, b), ((long)r << 32) | (uint)m);
        }
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Empties the word cache (frees its memory; the next encodes run cold).</summary>
    public void ClearCache()
    {
        _cache.Clear();
        Interlocked.Exchange(ref _cacheCount, 0);
    }

    private static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>Appends the ids of one pre-token (its UTF-16 text) to <paramref name="output"/>.</summary>
    public void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        bool cacheable = word.Length <= MaxCachedWordChars;
        if (cacheable && _cacheBySpan.TryGetValue(word, out var cached)) { output.AddRange(cached); return; }

        int maxBytes = System.Text.Encoding.UTF8.GetMaxByteCount(word.Length);
        Span<byte> small = maxBytes <= 512 ? stackalloc byte[512] : default;
        byte[] bytes = maxBytes <= 512 ? Array.Empty<byte>() : new byte[maxBytes];
        Span<byte> buf = maxBytes <= 512 ? small : bytes;
        int n = System.Text.Encoding.UTF8.GetBytes(word, buf);
        var ids = MergeBytes(buf[..n]);
        if (cacheable)
        {
            if (_cacheCount >= MaxCacheEntries) { _cache.Clear(); Interlocked.Exchange(ref _cacheCount, 0); }
            if (_cacheBySpan.TryAdd(word, ids)) Interlocked.Increment(ref _cacheCount);
        }
        output.AddRange(ids);
    }

    /// <summary>BPE of one byte string.</summary>
    public int[] MergeBytes(ReadOnlySpan<byte> bytes)
    {
        int n = 0;
        var sym = new int[bytes.Length];
        foreach (byte b in bytes)
        {
            int id = _byteIds[b];
            if (id >= 0) sym[n++] = id; // HF silently drops a byte with no token when there is no unk token
        }
        if (n <= 1) return n == sym.Length ? sym : sym[..n];
        return n <= 24 ? MergeScan(sym, n) : MergeHeap(sym, n);
    }

    // Short words: repeatedly merge the lowest-ranked adjacent pair (leftmost on ties). The pair values are kept
    // in an array and only the two pairs around a merge are looked up again.
    private int[] MergeScan(int[] sym, int n)
    {
        Span<long> pair = stackalloc long[n];
        for (int i = 0; i + 1 < n; i++) pair[i] = PairValue(sym[i], sym[i + 1]);
        while (n > 1)
        {
            long best = long.MaxValue; int at = -1;
            for (int i = 0; i + 1 < n; i++)
                if (pair[i] < best) { best = pair[i]; at = i; }
            if (at < 0) break;
            sym[at] = (int)(best & 0xFFFFFFFF);
            Array.Copy(sym, at + 2, sym, at + 1, n - at - 2);
            pair.Slice(at + 2, n - at - 2).CopyTo(pair.Slice(at + 1));
            n--;
            if (at > 0) pair[at - 1] = PairValue(sym[at - 1], sym[at]);
            if (at + 1 < n) pair[at] = PairValue(sym[at], sym[at + 1]);
        }
        return n == sym.Length ? sym : sym[..n];
    }

    private long PairValue(int a, int b) => _merges.TryGetValue(Key(a, b), out long v) ? v : long.MaxValue;

    // Long words (e.g. an unbroken run of Chinese): linked symbols and a priority queue keyed by (rank, position).
    private int[] MergeHeap(int[] sym, int n)
    {
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        var queue = new PriorityQueue<(int Pos, int Merged), long>();
        void Push(int pos)
        {
            int nx = next[pos];
            if (nx < 0) return;
            if (_merges.TryGetValue(Key(sym[pos], sym[nx]), out long v))
                queue.Enqueue((pos, (int)(v & 0xFFFFFFFF)), (v & ~0xFFFFFFFFL) | (uint)pos);
        }
        for (int i = 0; i + 1 < n; i++) Push(i);
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (sym[pos] < 0) continue;                   // symbol already merged into its left neighbour
            int nx = next[pos];
            if (nx < 0) continue;
            if (!_merges.TryGetValue(Key(sym[pos], sym[nx]), out long v) || (int)(v & 0xFFFFFFFF) != top.Merged) continue; // stale
            sym[pos] = top.Merged;
            sym[nx] = -1;
            int nn = next[nx];
            next[pos] = nn;
            if (nn >= 0) prev[nn] = pos;
            if (prev[pos] >= 0) Push(prev[pos]);
            Push(pos);
        }
        var result = new List<int>(n);
        for (int i = 0; i >= 0; i = next[i]) result.Add(sym[i]);
        return result.ToArray();
    }
}

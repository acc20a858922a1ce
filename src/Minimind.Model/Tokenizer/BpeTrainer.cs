using System.Runtime.InteropServices;
using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// HuggingFace <c>tokenizers</c>' <c>BpeTrainer</c> (models/bpe/trainer.rs, 0.23), step for step, so the vocabulary and
/// merges equal HF's on the same words: ids go to the special tokens (in order), then to the alphabet (the corpus's
/// characters and the initial alphabet, sorted by code point), then one per new token. Pairs are counted over the
/// pre-tokenized words (a pair counts its word's count per occurrence, in wrapping 32-bit arithmetic as HF's i32);
/// the pair with the highest count is merged next, equal counts going to the smallest (left id, right id). A lazy
/// priority queue holds (count, pair, words) entries: a popped entry whose count is stale is re-queued with the
/// current one, and a merge visits only the words recorded for that pair, merging left to right without overlap.
/// Training stops when the vocabulary holds <see cref="BpeTrainerOptions.VocabSize"/> unique tokens (checked before
/// each merge), when the best count is below 1 or the minimum frequency, or when no pair is left.
/// Counting and merging run on several threads; the result does not depend on how many.
/// </summary>
public static class BpeTrainer
{
    // Words with at least this many recorded positions are merged in parallel.
    private const int ParallelMergeMin = 4096;

    /// <summary>Reports progress: (stage, done, total).</summary>
    public delegate void Progress(string stage, long done, long total);

    /// <summary>Trains on <paramref name="wordCounts"/> (each pre-tokenized word and how often it occurs).</summary>
    public static TrainedBpe Train(IReadOnlyDictionary<string, long> wordCounts, BpeTrainerOptions options, Progress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(wordCounts);
        ArgumentNullException.ThrowIfNull(options);
        int threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        var tokenToId = new Dictionary<string, int>(StringComparer.Ordinal);
        var idToToken = new List<string>();
        void AddToken(string t)
        {
            if (tokenToId.TryAdd(t, idToToken.Count)) idToToken.Add(t);
        }

        // 1. special tokens, 2. the alphabet sorted by code point
        foreach (var t in options.SpecialTokens) AddToken(t);
        var specials = idToToken.ToArray(); // a token listed twice keeps its first id
        var alphabet = new HashSet<int>();
        foreach (var r in options.InitialAlphabet) alphabet.Add(r.Value);
        foreach (var word in wordCounts.Keys)
            foreach (var r in word.EnumerateRunes()) alphabet.Add(r.Value);
        foreach (int cp in alphabet.Order()) AddToken(char.ConvertFromUtf32(cp));
        int alphabetSize = idToToken.Count - specials.Length;

        // 3. every word as symbol ids in one flat pool
        var words = new Words(wordCounts, tokenToId);
        progress?.Invoke("Tokenize words", words.Count, words.Count);

        // 4. pair counts and the words each pair occurs in
        var pairCounts = new Dictionary<long, int>();
        var queue = new PriorityQueue<List<int>, QueueKey>();
        long seq = 0;
        var initial = CountPairs(words, threads, pairCounts);
        // pushed in pair order, so the queue (and the result) never depends on the order words were counted in
        var keys = new List<long>();
        foreach (long pair in Sorted(initial.Keys, keys))
            if (pairCounts[pair] > 0) queue.Enqueue(initial[pair], new QueueKey(Widen(pairCounts[pair]), pair, seq++));
        initial.Clear();
        progress?.Invoke("Count pairs", words.Count, words.Count);

        // 5. merges
        var merges = new List<(int Left, int Right)>();
        var whereToUpdate = new Dictionary<long, List<int>>();
        var changes = new ChangeSink(pairCounts, whereToUpdate);
        int target = options.VocabSize;
        while (tokenToId.Count < target && queue.TryDequeue(out var positions, out var top))
        {
            ulong current = Widen(pairCounts[top.Pair]);
            if (top.Count != current)
            {
                queue.Enqueue(positions, top with { Count = current, Seq = seq++ });
                continue;
            }
            if (top.Count < 1 || (ulong)options.MinFrequency > top.Count) break;

            int left = (int)(top.Pair >> 32), right = (int)(top.Pair & 0xFFFFFFFF);
            string merged = idToToken[left] + idToToken[right];
            if (!tokenToId.TryGetValue(merged, out int newId))
            {
                newId = idToToken.Count;
                AddToken(merged);
            }
            merges.Add((left, right));
            words.MergeAll(positions, left, right, newId, changes, threads);
            foreach (long pair in Sorted(whereToUpdate.Keys, keys))
                if (pairCounts[pair] > 0) queue.Enqueue(whereToUpdate[pair], new QueueKey(Widen(pairCounts[pair]), pair, seq++));
            whereToUpdate.Clear();
            if ((merges.Count & 255) == 0) progress?.Invoke("Compute merges", tokenToId.Count, target);
        }
        progress?.Invoke("Compute merges", tokenToId.Count, tokenToId.Count);
        return new TrainedBpe(idToToken, merges, specials, alphabetSize);
    }

    private static List<long> Sorted(Dictionary<long, List<int>>.KeyCollection pairs, List<long> into)
    {
        into.Clear();
        into.AddRange(pairs);
        into.Sort();
        return into;
    }

    // HF stores the i32 count in a u64 ('count as u64' sign-extends), so a wrapped-negative count sorts first.
    private static ulong Widen(int count) => unchecked((ulong)(long)count);

    private static Dictionary<long, List<int>> CountPairs(Words words, int threads, Dictionary<long, int> pairCounts)
    {
        int parts = Math.Max(1, Math.Min(threads, words.Count / 1024));
        var counts = new Dictionary<long, int>[parts];
        var where = new Dictionary<long, List<int>>[parts];
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = threads }, p =>
        {
            var c = counts[p] = new Dictionary<long, int>();
            var w = where[p] = new Dictionary<long, List<int>>();
            int from = (int)((long)words.Count * p / parts), to = (int)((long)words.Count * (p + 1) / parts);
            for (int i = from; i < to; i++)
            {
                var s = words.Symbols(i);
                int count = words.Count32(i);
                for (int k = 0; k + 1 < s.Length; k++)
                {
                    long pair = Pair(s[k], s[k + 1]);
                    unchecked { CollectionsMarshal.GetValueRefOrAddDefault(c, pair, out _) += count; }
                    ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(w, pair, out _);
                    list ??= new List<int>();
                    if (list.Count == 0 || list[^1] != i) list.Add(i);
                }
            }
        });
        // parts in word order: each pair's word list stays ascending
        var all = where[0];
        foreach (var (pair, n) in counts[0]) pairCounts[pair] = n;
        for (int p = 1; p < parts; p++)
        {
            foreach (var (pair, n) in counts[p]) unchecked { CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += n; }
            foreach (var (pair, list) in where[p])
            {
                ref var into = ref CollectionsMarshal.GetValueRefOrAddDefault(all, pair, out bool exists);
                if (exists) into!.AddRange(list); else into = list;
            }
        }
        return all;
    }

    internal static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Queue order (first = "smallest"): the highest count, then the smallest (left, right), then push order.</summary>
    private readonly record struct QueueKey(ulong Count, long Pair, long Seq) : IComparable<QueueKey>
    {
        public int CompareTo(QueueKey b) =>
            Count != b.Count ? b.Count.CompareTo(Count) : Pair != b.Pair ? Pair.CompareTo(b.Pair) : Seq.CompareTo(b.Seq);
    }

    /// <summary>Applies the pair-count changes of one merge and records the words where a pair gained occurrences.</summary>
    internal sealed class ChangeSink(Dictionary<long, int> pairCounts, Dictionary<long, List<int>> whereToUpdate)
    {
        /// <summary>Adds <paramref name="delta"/> occurrences (× the word's 32-bit count) of <paramref name="pair"/> in word <paramref name="word"/>.</summary>
        public void Apply(long pair, int delta, int word, int count)
        {
            unchecked { CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += delta * count; }
            if (delta <= 0) return;
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(whereToUpdate, pair, out _);
            list ??= new List<int>();
            if (list.Count == 0 || list[^1] != word) list.Add(word); // one word's changes come together
        }
    }

    /// <summary>The unique words as symbol-id sequences in one pool, with their counts.</summary>
    private sealed class Words
    {
        private readonly int[] _pool;
        private readonly int[] _start;
        private readonly int[] _length;
        private readonly long[] _counts;

        public Words(IReadOnlyDictionary<string, long> wordCounts, Dictionary<string, int> tokenToId)
        {
            int n = wordCounts.Count;
            _start = new int[n]; _length = new int[n]; _counts = new long[n];
            long total = 0;
            foreach (var w in wordCounts.Keys) total += w.Length;
            if (total > Array.MaxLength) throw new InvalidDataException($"the corpus has {total} characters in unique words; at most {Array.MaxLength} fit");
            _pool = new int[total];
            var lookup = tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
            Span<char> buf = stackalloc char[2];
            int at = 0, i = 0;
            foreach (var (word, count) in wordCounts)
            {
                _start[i] = at; _counts[i] = count;
                foreach (var r in word.EnumerateRunes())
                {
                    int len = r.EncodeToUtf16(buf);
                    // every character is in the alphabet, which was built from these words
                    _pool[at++] = lookup[buf[..len]];
                }
                _length[i] = at - _start[i];
                i++;
            }
            Count = n;
        }

        public int Count { get; }

        public ReadOnlySpan<int> Symbols(int i) => _pool.AsSpan(_start[i], _length[i]);

        /// <summary>The word's count as HF's <c>counts[i] as i32</c> (the low 32 bits).</summary>
        public int Count32(int i) => unchecked((int)_counts[i]);

        /// <summary>Merges (left, right) → merged in every word of <paramref name="positions"/>, reporting the pair changes.</summary>
        public void MergeAll(List<int> positions, int left, int right, int merged, ChangeSink sink, int threads)
        {
            // words are disjoint: they are merged in parallel, and the changes applied in position order
            int parts = threads == 1 || positions.Count < ParallelMergeMin ? 1 : threads;
            if (_changes.Length < parts) _changes = new List<(long, int, int)>[parts];
            for (int p = 0; p < parts; p++) (_changes[p] ??= new List<(long, int, int)>()).Clear();
            if (parts == 1) foreach (int i in positions) Merge(i, left, right, merged, _changes[0]);
            else Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = threads }, p =>
            {
                int from = (int)((long)positions.Count * p / parts), to = (int)((long)positions.Count * (p + 1) / parts);
                for (int k = from; k < to; k++) Merge(positions[k], left, right, merged, _changes[p]);
            });
            for (int p = 0; p < parts; p++)
                foreach (var (pair, delta, word) in _changes[p]) sink.Apply(pair, delta, word, Count32(word));
        }

        private List<(long Pair, int Delta, int Word)>[] _changes = Array.Empty<List<(long, int, int)>>();

        // HF's Word::merge: scan left to right; at each (left, right) the pair before it loses an occurrence and
        // (previous, merged) gains one, likewise after it; the scan resumes after the merged symbol (no overlap).
        private void Merge(int i, int left, int right, int merged, List<(long Pair, int Delta, int Word)> changes)
        {
            var s = _pool.AsSpan(_start[i], _length[i]);
            int n = s.Length, r = 0, w = 0;
            while (r < n)
            {
                if (s[r] == left && r + 1 < n && s[r + 1] == right)
                {
                    if (w > 0)
                    {
                        changes.Add((Pair(s[w - 1], left), -1, i));
                        changes.Add((Pair(s[w - 1], merged), 1, i));
                    }
                    s[w++] = merged;
                    r += 2;
                    if (r < n)
                    {
                        changes.Add((Pair(right, s[r]), -1, i));
                        changes.Add((Pair(merged, s[r]), 1, i));
                    }
                }
                else s[w++] = s[r++];
            }
            _length[i] = w;
        }
    }
}

using Minimind.Model.Tokenizer;

namespace Minimind.Model.Data;

/// <summary>
/// Tokenizes a stream of texts on several threads and yields the ids in input order, so the result never
/// depends on the thread count. Texts are taken in chunks; each chunk is encoded in parallel, then yielded.
/// </summary>
public static class ParallelEncoder
{
    /// <summary>Ids of every text of <paramref name="texts"/>, in order (the tokenizer must be thread-safe; ours are).</summary>
    public static IEnumerable<int[]> Encode(IEnumerable<string> texts, ITokenizer tokenizer, int threads = 0, int chunkSize = 4096)
    {
        if (threads <= 0) threads = Environment.ProcessorCount;
        if (chunkSize <= 0) throw new ArgumentOutOfRangeException(nameof(chunkSize));
        var chunk = new List<string>(chunkSize);
        var encoded = new int[chunkSize][];
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        foreach (var text in texts)
        {
            chunk.Add(text);
            if (chunk.Count < chunkSize) continue;
            foreach (var ids in Flush()) yield return ids;
        }
        foreach (var ids in Flush()) yield return ids;

        IEnumerable<int[]> Flush()
        {
            int n = chunk.Count;
            if (n == 0) yield break;
            if (threads == 1) for (int i = 0; i < n; i++) encoded[i] = tokenizer.Encode(chunk[i]);
            else Parallel.For(0, n, options, i => encoded[i] = tokenizer.Encode(chunk[i]));
            chunk.Clear();
            for (int i = 0; i < n; i++) { var ids = encoded[i]; encoded[i] = null!; yield return ids; }
        }
    }
}

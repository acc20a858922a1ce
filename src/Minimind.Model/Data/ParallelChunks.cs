namespace Minimind.Model.Data;

/// <summary>
/// Maps a stream through a function on several threads, in chunks, and hands the results to a consumer in
/// input order, so the outcome never depends on the thread count.
/// </summary>
internal static class ParallelChunks
{
    /// <summary>Calls <paramref name="map"/>(item, index) in parallel and <paramref name="consume"/> on each result in order.</summary>
    public static void Run<T, TResult>(IEnumerable<T> items, int threads, Func<T, long, TResult> map, Action<TResult> consume, int chunkSize = 2048)
    {
        if (threads <= 0) threads = Environment.ProcessorCount;
        var chunk = new List<T>(chunkSize);
        var results = new TResult[chunkSize];
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        long next = 0;
        foreach (var item in items)
        {
            chunk.Add(item);
            if (chunk.Count == chunkSize) Flush();
        }
        Flush();

        void Flush()
        {
            int n = chunk.Count;
            if (n == 0) return;
            long baseIndex = next;
            if (threads == 1) for (int i = 0; i < n; i++) results[i] = map(chunk[i], baseIndex + i);
            else
            {
                try { Parallel.For(0, n, options, i => results[i] = map(chunk[i], baseIndex + i)); }
                catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
                {
                    // the first failing item in input order, as a sequential run would report
                    for (int i = 0; i < n; i++) results[i] = map(chunk[i], baseIndex + i);
                    throw e.InnerExceptions[0];
                }
            }
            for (int i = 0; i < n; i++) { consume(results[i]); results[i] = default!; }
            next += n;
            chunk.Clear();
        }
    }
}

using Minimind.Model.Tokenizer;

namespace Minimind.Model.Data;

/// <summary>
/// Pretraining samples from a jsonl file (<c>{"text": ...}</c> per line), tokenized up front into memory
/// (one sample per non-blank line, in file order) with a progress line on stderr for large files. For corpora
/// that do not fit in memory, write a token file with <c>minimind tokenize</c> and use
/// <see cref="TokenFilePretrainSource"/>.
/// </summary>
public sealed class JsonlPretrainSource : IPretrainSource
{
    private readonly InMemoryPretrainSource _rows;

    /// <summary>The file read.</summary>
    public string Path { get; }
    /// <inheritdoc/>
    public long Count => _rows.Count;
    /// <inheritdoc/>
    public int SeqLen => _rows.SeqLen;
    /// <summary>Text tokens stored (after truncation to max_seq_len − 2).</summary>
    public long TokenCount => _rows.TokenCount;

    private JsonlPretrainSource(string path, InMemoryPretrainSource rows) { Path = path; _rows = rows; }

    /// <summary>
    /// Reads and tokenizes <paramref name="path"/>. <paramref name="log"/> receives progress lines
    /// (default: stderr, only for files over 8 MB). <paramref name="threads"/> tokenizer threads (0 = all cores).
    /// </summary>
    public static JsonlPretrainSource Open(string path, ITokenizer tokenizer, int maxSeqLen, TextWriter? log = null, int threads = 0)
    {
        if (maxSeqLen < 3) throw new ArgumentException($"--max-seq-len {maxSeqLen} is too short (at least 3)");
        long size = new FileInfo(path).Exists ? new FileInfo(path).Length : 0;
        log ??= size > (8 << 20) ? Console.Error : null;
        var builder = new InMemoryPretrainSource.Builder(maxSeqLen);
        // While reading, the encoder is a chunk behind the reader: the count so far; the total once every chunk is encoded.
        Action<long, long>? progress = log is null ? null : (done, total) =>
        {
            if (done < total) log.WriteLine($"tokenizing {path}: {done / 1e6:F1}/{total / 1e6:F1} MB ({100.0 * done / Math.Max(1, total):F0}%), {builder.Count} samples so far");
        };
        // Encoded on all cores in chunks, stored in file order: the samples do not depend on the thread count.
        foreach (var ids in ParallelEncoder.Encode(JsonlTexts.Read(path, progress).Select(l => l.Text), tokenizer, threads)) builder.Add(ids);
        if (builder.Count == 0) throw new InvalidDataException($"{path}: no samples (the file has no non-blank lines)");
        log?.WriteLine($"tokenized {path}: {size / 1e6:F1} MB, {builder.Count} samples");
        return new JsonlPretrainSource(path, builder.Build(tokenizer.BosId, tokenizer.EosId, tokenizer.PadId));
    }

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets) => _rows.Fill(index, inputs, targets);
}

using System.Runtime.InteropServices;
using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// Counts the pre-tokenized words of a stream of texts for <see cref="BpeTrainer"/>, as HF's trainer <c>feed</c> does
/// with a ByteLevel pre-tokenizer: each text is split with GPT-2's regex (<see cref="GptPreTokenizer"/>; special-token
/// strings are ordinary text here) and each piece's UTF-8 bytes are spelled in ByteLevel characters. Only the counts
/// are kept: texts are taken in chunks of bounded size and counted on several threads, each into its own table, so
/// memory grows with the number of distinct words, not with the corpus; the counts do not depend on the thread count.
/// </summary>
public sealed class WordCounter
{
    private const int ChunkChars = 4 << 20;     // characters buffered before a parallel pass

    private readonly int _threads;
    private readonly Dictionary<string, long>[] _tables;
    private readonly List<string> _chunk = new();
    private long _chunkChars;

    /// <summary>A counter using <paramref name="threads"/> workers (0 = all cores).</summary>
    public WordCounter(int threads = 0)
    {
        _threads = threads > 0 ? threads : Environment.ProcessorCount;
        _tables = Enumerable.Range(0, _threads).Select(_ => new Dictionary<string, long>(StringComparer.Ordinal)).ToArray();
    }

    /// <summary>Texts counted so far.</summary>
    public long Texts { get; private set; }
    /// <summary>UTF-16 characters counted so far.</summary>
    public long Chars { get; private set; }

    /// <summary>Counts the words of <paramref name="text"/> (buffered; counted by the next parallel pass).</summary>
    public void Add(string text)
    {
        _chunk.Add(text);
        _chunkChars += text.Length;
        Texts++;
        Chars += text.Length;
        if (_chunkChars >= ChunkChars) Flush();
    }

    /// <summary>The distinct words in ByteLevel spelling and how often each occurs.</summary>
    public Dictionary<string, long> ByteLevelWords()
    {
        Flush();
        var words = new Dictionary<string, long>(_tables.Max(t => t.Count), StringComparer.Ordinal);
        var bytes = new byte[256];
        var chars = new char[256];
        for (int t = 0; t < _tables.Length; t++)
        {
            foreach (var (piece, count) in _tables[t])
            {
                int n = Encoding.UTF8.GetMaxByteCount(piece.Length);
                if (bytes.Length < n) { bytes = new byte[n]; chars = new char[n]; }
                int len = Encoding.UTF8.GetBytes(piece, bytes);
                for (int k = 0; k < len; k++) chars[k] = ByteLevelAlphabet.ToChar(bytes[k]);
                // two pieces can share a spelling only through lone surrogates (both become U+FFFD's bytes)
                CollectionsMarshal.GetValueRefOrAddDefault(words, new string(chars, 0, len), out _) += count;
            }
            _tables[t] = new Dictionary<string, long>(StringComparer.Ordinal); // free as we go
        }
        return words;
    }

    private void Flush()
    {
        if (_chunk.Count == 0) return;
        int parts = Math.Min(_threads, _chunk.Count);
        if (parts == 1) CountRange(0, 1);
        else Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p => CountRange(p, parts));
        _chunk.Clear();
        _chunkChars = 0;
    }

    // Worker p counts texts p, p + parts, ... into its own table.
    private void CountRange(int p, int parts)
    {
        var table = _tables[p];
        var lookup = table.GetAlternateLookup<ReadOnlySpan<char>>();
        var pieces = new List<(int Start, int Length)>();
        for (int i = p; i < _chunk.Count; i += parts)
        {
            var text = _chunk[i].AsSpan();
            pieces.Clear();
            GptPreTokenizer.Split(text, pieces);
            foreach (var (s, l) in pieces)
                CollectionsMarshal.GetValueRefOrAddDefault(lookup, text.Slice(s, l), out _)++;
        }
    }
}

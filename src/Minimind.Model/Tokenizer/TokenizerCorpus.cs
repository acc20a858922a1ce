using System.Text;
using System.Text.Json;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// The texts MiniMind's <c>train_tokenizer.py</c> trains on, read as its <c>get_texts</c> reads them (d65ef2c): the file
/// as UTF-8 with undecodable bytes dropped (<c>errors='ignore'</c>), split into lines at <c>\n</c>, <c>\r\n</c> or
/// <c>\r</c> (Python's universal newlines), the first <c>max_lines</c> lines (blank and broken ones count), a line that
/// is not JSON skipped; from a line's object the non-empty <c>conversations[].content</c> strings joined with
/// <c>\n</c> (or, in <see cref="CorpusFormat.Text"/>, its <c>text</c> string, as the script read pretraining files before).
/// Where the script would crash (a line that is JSON but not an object, a content that is not a string) this
/// throws an <see cref="InvalidDataException"/> naming the file and line.
/// </summary>
public static class TokenizerCorpus
{
    /// <summary>Which field of a line holds its text.</summary>
    public enum CorpusFormat
    {
        /// <summary><c>{"conversations": [{"role": ..., "content": ...}, ...]}</c>: contents joined with newlines (MiniMind's SFT data).</summary>
        Conversations,
        /// <summary><c>{"text": "..."}</c> (MiniMind's pretraining data).</summary>
        Text,
    }

    /// <summary>Counts of what <see cref="Read"/> saw.</summary>
    public sealed class Stats
    {
        /// <summary>Lines read (at most the limit).</summary>
        public long Lines { get; internal set; }
        /// <summary>Lines that were not JSON and were skipped.</summary>
        public long NotJson { get; internal set; }
        /// <summary>Texts produced.</summary>
        public long Texts { get; internal set; }
        /// <summary>Bytes of the file consumed.</summary>
        public long BytesRead { get; internal set; }
    }

    /// <summary>
    /// Hands the texts of <paramref name="path"/> to <paramref name="onText"/> in file order; <paramref name="maxLines"/>
    /// 0 reads every line. Lines are parsed on <paramref name="threads"/> threads (0 = all cores); an error names the
    /// first bad line in file order, as a sequential read would.
    /// </summary>
    public static void Read(string path, CorpusFormat format, long maxLines, Stats stats, Action<string> onText, int threads = 1)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--data {path} does not exist", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        // no BOM handling: Python's 'utf-8' keeps a BOM in the first line, which then is not JSON
        var utf8 = (Encoding)new UTF8Encoding(false).Clone(); // Clone: a writable copy (no preamble, so the BOM is kept)
        utf8.DecoderFallback = new DecoderReplacementFallback("");
        using var reader = new StreamReader(stream, utf8, detectEncodingFromByteOrderMarks: false, 1 << 16);
        IEnumerable<string> Lines()
        {
            string? line;
            while ((maxLines == 0 || stats.Lines < maxLines) && (line = reader.ReadLine()) is not null)
            {
                stats.Lines++;
                yield return line;
            }
        }
        Minimind.Model.Data.ParallelChunks.Run(Lines(), threads, (line, index) => Parse(path, index + 1, line, format), r =>
        {
            stats.BytesRead = stream.Position;
            if (r.NotJson) stats.NotJson++;
            if (r.Text is null) return;
            stats.Texts++;
            onText(r.Text);
        });
        stats.BytesRead = stream.Position;
    }

    private static (string? Text, bool NotJson) Parse(string path, long lineNo, string line, CorpusFormat format)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException) { return (null, true); }
        using (doc)
        {
            var root = doc.RootElement;
            string where = $"{path}:{lineNo}";
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected a JSON object, got {root.ValueKind}");
            if (format == CorpusFormat.Text)
            {
                if (!root.TryGetProperty("text", out var t)) throw new InvalidDataException($"{where}: no \"text\" field (--format text)");
                if (t.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{where}: \"text\" is {t.ValueKind}, expected a string");
                return (t.GetString(), false);
            }
            if (!root.TryGetProperty("conversations", out var conv)) return (null, false);
            if (conv.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: \"conversations\" is {conv.ValueKind}, expected a list of messages");
            var contents = new List<string>();
            int k = 0;
            foreach (var item in conv.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: conversations[{k}] is {item.ValueKind}, expected an object");
                // item.get('content') when truthy: a non-empty string; other truthy values break the script's join
                if (item.TryGetProperty("content", out var c) && Truthy(c))
                {
                    if (c.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{where}: conversations[{k}].content is {c.ValueKind}, expected a string");
                    contents.Add(c.GetString()!);
                }
                k++;
            }
            return (contents.Count == 0 ? null : string.Join('\n', contents), false);
        }
    }

    // Python truthiness of a JSON value.
    private static bool Truthy(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!.Length > 0,
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.True => true,
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Object => e.EnumerateObject().Any(),
        _ => false,
    };
}

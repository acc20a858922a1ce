using System.Buffers;
using System.Text.Json;

namespace Minimind.Model.Data;

/// <summary>
/// Reads the <c>"text"</c> field of every line of a MiniMind pretraining jsonl file
/// (<c>{"text": "..."}</c> per line). Blank lines are skipped; any other line that is not a JSON object
/// with a string <c>text</c> throws <see cref="InvalidDataException"/> naming the file and line number.
/// </summary>
public static class JsonlTexts
{
    /// <summary>One text and where it came from.</summary>
    public readonly record struct Line(long LineNumber, string Text);

    /// <summary>
    /// Enumerates the texts of <paramref name="path"/> in file order. <paramref name="progress"/>, when given,
    /// is called about every <paramref name="progressEvery"/> with (bytes read, file size).
    /// </summary>
    public static IEnumerable<Line> Read(string path, Action<long, long>? progress = null, TimeSpan? progressEvery = null)
    {
        foreach (var l in ReadLines(path, progress, progressEvery)) yield return new Line(l.LineNumber, ParseText(path, l.LineNumber, l.Text));
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The non-blank lines of a jsonl file, undecoded JSON, with their 1-based numbers (a UTF-8 byte-order mark and \r\n
    /// endings are accepted). Bytes that are not UTF-8 are refused naming the file, line and byte offset: Python's
    /// <c>open(..., encoding="utf-8")</c>, which MiniMind's datasets read with, fails on them too, and a silent
    /// replacement character would train on text nobody wrote.
    /// </summary>
    public static IEnumerable<Line> ReadLines(string path, Action<long, long>? progress = null, TimeSpan? progressEvery = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long lineNo = 0, lineStart = 0, size = stream.Length;
        var every = progressEvery ?? TimeSpan.FromSeconds(2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        var buf = new byte[1 << 16];
        var pending = new System.Buffers.ArrayBufferWriter<byte>(1 << 12);
        int n;
        do
        {
            n = stream.Read(buf, 0, buf.Length);
            var rest = buf.AsSpan(0, n);
            var lines = new List<string>();
            // complete lines in this block (the last one, at end of file, may lack its newline)
            while (true)
            {
                int nl = rest.IndexOf((byte)'\n');
                if (nl < 0 && n > 0) { pending.Write(rest); break; }
                if (nl < 0 && pending.WrittenCount == 0) break; // end of file right after a newline
                pending.Write(nl < 0 ? rest : rest[..nl]);
                lines.Add(Decode(path, ++lineNo, lineStart, pending.WrittenSpan));
                lineStart += pending.WrittenCount + 1;
                pending.ResetWrittenCount();
                if (nl < 0) break;
                rest = rest[(nl + 1)..];
            }
            foreach (var (text, i) in lines.Select((t, i) => (t, i)))
                if (!string.IsNullOrWhiteSpace(text)) yield return new Line(lineNo - lines.Count + 1 + i, text);
            if (progress is not null && clock.Elapsed - last >= every) { last = clock.Elapsed; progress(stream.Position, size); }
        } while (n > 0);
        progress?.Invoke(size, size);
    }

    // One line's bytes as text: the first line's byte-order mark and a trailing \r dropped, anything not UTF-8 refused.
    private static string Decode(string path, long lineNo, long lineStart, ReadOnlySpan<byte> bytes)
    {
        int skip = lineNo == 1 && bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        bytes = bytes[skip..];
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        try { return StrictUtf8.GetString(bytes); }
        catch (System.Text.DecoderFallbackException e)
        {
            long at = lineStart + skip + Math.Max(0, e.Index);
            string what = e.BytesUnknown is { Length: > 0 } u ? $"byte 0x{u[0]:X2}" : "a byte";
            throw new InvalidDataException($"{path}:{lineNo}: not valid UTF-8 ({what} at file offset {at}); MiniMind's jsonl files are UTF-8: re-encode the file, e.g. iconv -f GB18030 -t UTF-8", e);
        }
    }

    /// <summary>The <c>text</c> string of one jsonl line; errors name <paramref name="path"/> and <paramref name="lineNo"/>.</summary>
    public static string ParseText(string path, long lineNo, string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}:{lineNo}: expected a JSON object like {{\"text\": \"...\"}}, got {root.ValueKind}");
            if (!root.TryGetProperty("text", out var text))
                throw new InvalidDataException($"{path}:{lineNo}: no \"text\" field");
            if (text.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}:{lineNo}: \"text\" is {text.ValueKind}, expected a string");
            return text.GetString()!;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}:{lineNo}: invalid JSON: {e.Message}", e);
        }
    }
}

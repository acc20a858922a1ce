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
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        long lineNo = 0, size = stream.Length;
        var every = progressEvery ?? TimeSpan.FromSeconds(2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return new Line(lineNo, ParseText(path, lineNo, line));
            if (progress is not null && clock.Elapsed - last >= every) { last = clock.Elapsed; progress(stream.Position, size); }
        }
        progress?.Invoke(size, size);
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

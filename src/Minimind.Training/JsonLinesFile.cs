using System.Text.Json;

namespace Minimind.Training;

/// <summary>
/// An append-only JSON-lines file of a run (the metrics log, the rollout log), continued across resumes. Opening it cuts
/// off a last line a kill left without its newline; on a resume from step k (<c>keepUpToStep</c>) it also drops the lines
/// whose top-level <c>"step"</c> is above k (work the kill lost, which the resumed run recomputes bit for bit) and any line
/// that is not valid JSON, so every step appears once. Each line goes to the OS as one write, flushed at once: a SIGKILL
/// loses at most the line being written.
/// </summary>
public sealed class JsonLinesFile : IDisposable
{
    private readonly FileStream _fs;

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> for appending (creating it), after <see cref="Trim"/>.</summary>
    public JsonLinesFile(string path, long? keepUpToStep)
    {
        Path = path;
        if (File.Exists(path)) Trim(path, keepUpToStep);
        _fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    /// <summary>Appends <paramref name="utf8Json"/> (one JSON value, no newline) and a newline.</summary>
    public void WriteLine(ReadOnlySpan<byte> utf8Json)
    {
        var line = new byte[utf8Json.Length + 1];
        utf8Json.CopyTo(line);
        line[^1] = (byte)'\n';
        _fs.Write(line);
        _fs.Flush();
    }

    /// <summary>Appends <paramref name="lines"/>: whole lines, each ending in a newline, in one write.</summary>
    public void WriteLines(ReadOnlySpan<byte> lines)
    {
        if (lines.IsEmpty) return;
        if (lines[^1] != (byte)'\n') throw new ArgumentException("a block of JSON lines must end with a newline", nameof(lines));
        _fs.Write(lines);
        _fs.Flush();
    }

    /// <summary>
    /// Cuts a torn last line and, with <paramref name="keepUpToStep"/>, the lines of later steps and invalid lines. When
    /// everything dropped is the file's tail the file is cut in place; otherwise the kept lines are rewritten atomically.
    /// </summary>
    public static void Trim(string path, long? keepUpToStep)
    {
        var kept = new List<(long Start, long Length)>();
        long end = 0;
        bool tailOnly = true, dropped = false;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            foreach (var (start, line, terminated) in Lines(fs))
            {
                bool keep = terminated && (keepUpToStep is not { } k || Keeps(line, k));
                if (!keep) { dropped = true; continue; }
                if (dropped) tailOnly = false;
                kept.Add((start, line.Length + 1));
                end = start + line.Length + 1;
            }
        }
        if (!dropped) return;
        if (tailOnly)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            fs.SetLength(end);
            fs.Flush(true);
            return;
        }
        Minimind.Checkpoint.AtomicFile.Write(path, st =>
        {
            using var src = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var buf = new byte[1 << 16];
            foreach (var (start, length) in kept)
            {
                src.Position = start;
                for (long left = length; left > 0;)
                {
                    int n = src.Read(buf, 0, (int)Math.Min(buf.Length, left));
                    if (n == 0) throw new EndOfStreamException($"{path} changed while it was being trimmed");
                    st.Write(buf, 0, n);
                    left -= n;
                }
            }
        });
    }

    // A valid JSON line whose top-level "step" (when it has a numeric one) is at most keep.
    private static bool Keeps(byte[] line, long keep)
    {
        if (line.Length == 0) return false;
        try
        {
            var r = new Utf8JsonReader(line);
            if (!r.Read()) return false;
            long? step = null;
            if (r.TokenType == JsonTokenType.StartObject)
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    bool isStep = r.ValueTextEquals("step"u8);
                    r.Read();
                    if (isStep && r.TokenType == JsonTokenType.Number && r.TryGetInt64(out long s)) step = s;
                    else r.Skip();
                }
            while (r.Read()) { } // the rest must parse too
            return step is not { } v || v <= keep;
        }
        catch (JsonException) { return false; }
    }

    // The file's lines without their newline, with their offset and whether a newline ended them.
    private static IEnumerable<(long Start, byte[] Line, bool Terminated)> Lines(Stream s)
    {
        var buf = new byte[1 << 16];
        var pending = new MemoryStream();
        long pos = 0, lineStart = 0;
        int n;
        while ((n = s.Read(buf, 0, buf.Length)) > 0)
        {
            int from = 0;
            for (int i = Array.IndexOf(buf, (byte)'\n', 0, n); i >= 0; i = Array.IndexOf(buf, (byte)'\n', from, n - from))
            {
                pending.Write(buf, from, i - from);
                yield return (lineStart, pending.ToArray(), true);
                pending.SetLength(0);
                from = i + 1;
                lineStart = pos + from;
            }
            pending.Write(buf, from, n - from);
            pos += n;
        }
        if (pending.Length > 0) yield return (lineStart, pending.ToArray(), false);
    }

    /// <inheritdoc/>
    public void Dispose() => _fs.Dispose();
}

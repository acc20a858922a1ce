using System.Text;
using System.Text.Json;

namespace Minimind.Training;

/// <summary>
/// The run's metrics as JSON lines (<c>metrics.jsonl</c> beside the checkpoints), one line per
/// logged optimizer step plus start/resume/stop events, appended across resumes. On resume, lines
/// for steps after the checkpoint (work that was lost) are dropped, so the file reads as one run.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly StreamWriter _w;

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> for appending; with <paramref name="keepUpToStep"/> set,
    /// first rewrites it (atomically) without step lines above that step.</summary>
    public MetricsLog(string path, long? keepUpToStep)
    {
        Path = path;
        if (keepUpToStep is { } keep && File.Exists(path)) TruncateAfter(path, keep);
        _w = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
    }

    /// <summary>Appends one line holding <paramref name="fields"/> (numbers, strings, bools).</summary>
    public void Write(IEnumerable<KeyValuePair<string, object?>> fields)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms))
        {
            j.WriteStartObject();
            foreach (var (k, v) in fields)
            {
                switch (v)
                {
                    case null: j.WriteNull(k); break;
                    case string s: j.WriteString(k, s); break;
                    case bool b: j.WriteBoolean(k, b); break;
                    case int i: j.WriteNumber(k, i); break;
                    case long l: j.WriteNumber(k, l); break;
                    case float f when float.IsFinite(f): j.WriteNumber(k, f); break;
                    case double d when double.IsFinite(d): j.WriteNumber(k, d); break;
                    case float or double: j.WriteString(k, Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)); break;
                    default: j.WriteString(k, v.ToString()); break;
                }
            }
            j.WriteEndObject();
        }
        _w.WriteLine(Encoding.UTF8.GetString(ms.ToArray()));
    }

    private static void TruncateAfter(string path, long keep)
    {
        var kept = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt64() > keep) continue;
            }
            catch (JsonException) { continue; } // a line cut short by a kill
            kept.Add(line);
        }
        Minimind.Checkpoint.AtomicFile.Write(path, st =>
        {
            using var sw = new StreamWriter(st, new UTF8Encoding(false), leaveOpen: true);
            foreach (var l in kept) sw.WriteLine(l);
        });
    }

    /// <inheritdoc/>
    public void Dispose() => _w.Dispose();
}

using System.Text.Json;

namespace Minimind.Training;

/// <summary>
/// The run's metrics as JSON lines (<c>metrics.jsonl</c> beside the checkpoints), one line per
/// logged optimizer step plus start/resume/stop events, appended across resumes (a <see cref="JsonLinesFile"/>). On
/// resume, lines for steps after the checkpoint (work that was lost) are dropped, so the file reads as one run.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly JsonLinesFile _w;

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> for appending (a torn last line cut off); with <paramref name="keepUpToStep"/> set,
    /// first drops the step lines above that step.</summary>
    public MetricsLog(string path, long? keepUpToStep)
    {
        Path = path;
        _w = new JsonLinesFile(path, keepUpToStep);
    }

    /// <summary>Appends one line holding <paramref name="fields"/> (numbers, strings, bools, and lists of them or of field dictionaries).</summary>
    public void Write(IEnumerable<KeyValuePair<string, object?>> fields)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms)) Value(j, fields);
        _w.WriteLine(ms.ToArray());
    }

    private static void Value(Utf8JsonWriter j, object? v)
    {
        switch (v)
        {
            case null: j.WriteNullValue(); break;
            case string s: j.WriteStringValue(s); break;
            case bool b: j.WriteBooleanValue(b); break;
            case int i: j.WriteNumberValue(i); break;
            case long l: j.WriteNumberValue(l); break;
            case float f when float.IsFinite(f): j.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): j.WriteNumberValue(d); break;
            case float or double: j.WriteStringValue(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case IEnumerable<KeyValuePair<string, object?>> fields:
                j.WriteStartObject();
                foreach (var (k, x) in fields) { j.WritePropertyName(k); Value(j, x); }
                j.WriteEndObject();
                break;
            case System.Collections.IEnumerable list:
                j.WriteStartArray();
                foreach (var x in list) Value(j, x);
                j.WriteEndArray();
                break;
            default: j.WriteStringValue(v.ToString()); break;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _w.Dispose();
}

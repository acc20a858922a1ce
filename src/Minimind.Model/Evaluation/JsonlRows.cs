using System.Text.Json;

namespace Minimind.Model.Evaluation;

/// <summary>The JSON objects of a jsonl file with their line numbers; blank lines skipped, errors (invalid UTF-8 too) name file:line.</summary>
public static class JsonlRows
{
    /// <summary>Each non-blank line of <paramref name="path"/> parsed as a JSON object (the element is a clone, valid after the call).</summary>
    public static IEnumerable<(long Line, JsonElement Row)> Read(string path)
    {
        foreach (var (lineNo, line) in Data.JsonlTexts.ReadLines(path))
        {
            JsonElement row;
            try
            {
                using var doc = JsonDocument.Parse(line);
                row = doc.RootElement.Clone();
            }
            catch (JsonException e) { throw new InvalidDataException($"{path}:{lineNo}: invalid JSON: {e.Message}", e); }
            if (row.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}:{lineNo}: expected a JSON object, got {row.ValueKind}");
            yield return (lineNo, row);
        }
    }

    /// <summary>The string field <paramref name="name"/>; throws naming the file, line and field.</summary>
    public static string String(string path, long line, JsonElement row, string name) =>
        row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new InvalidDataException($"{path}:{line}: \"{name}\" must be a string ({Describe(row, name)})");

    /// <summary>The array of strings <paramref name="name"/>; throws naming the file, line and field.</summary>
    public static string[] Strings(string path, long line, JsonElement row, string name)
    {
        if (!row.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}:{line}: \"{name}\" must be an array of strings ({Describe(row, name)})");
        return v.EnumerateArray().Select((x, i) => x.ValueKind == JsonValueKind.String ? x.GetString()!
            : throw new InvalidDataException($"{path}:{line}: \"{name}\"[{i}] is {x.ValueKind}, expected a string")).ToArray();
    }

    /// <summary>
    /// An integer field, given as a number or as a string of digits (HuggingFace's copies store HellaSwag's label as "3");
    /// throws naming the file, line and field.
    /// </summary>
    public static int Int(string path, long line, JsonElement row, string name)
    {
        if (row.TryGetProperty(name, out var v))
        {
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)) return n;
            if (v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s && s.All(char.IsAsciiDigit)
                && int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n)) return n;
        }
        throw new InvalidDataException($"{path}:{line}: \"{name}\" must be an integer ({Describe(row, name)})");
    }

    private static string Describe(JsonElement row, string name) =>
        row.TryGetProperty(name, out var v) ? $"got {v.ValueKind} {Short(v.GetRawText())}" : "missing; the row has " + string.Join(", ", row.EnumerateObject().Select(p => p.Name));

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "...";
}

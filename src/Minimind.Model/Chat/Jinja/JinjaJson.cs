using System.Text.Json;

namespace Minimind.Model.Chat.Jinja;

/// <summary>Template values from JSON as Python's <c>json.loads</c> gives them (int vs float kept, key order kept).</summary>
public static class JinjaJson
{
    /// <summary>Converts a JSON element: objects → ordered dicts, arrays → lists, integers → long, other numbers → double.</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => ToDict(e),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => IsIntegerLiteral(e.GetRawText())
            ? (object?)(e.TryGetInt64(out long l) ? l : throw new InvalidDataException($"integer {e.GetRawText()} does not fit in 64 bits"))
            : (object?)e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>Parses JSON text (e.g. a <c>tools</c> or <c>tool_calls</c> string field).</summary>
    public static object? Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return FromJson(doc.RootElement);
    }

    private static OrderedDictionary<string, object?> ToDict(JsonElement e)
    {
        var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value); // a repeated key keeps its first position, last value (as Python)
        return d;
    }

    private static bool IsIntegerLiteral(string raw) => raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0;
}

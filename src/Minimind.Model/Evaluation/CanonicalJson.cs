using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Minimind.Model.Evaluation;

/// <summary>
/// A JSON value as one string that is equal for equal Python values (object keys sorted, numbers by value, so
/// <c>{"a": 3, "b": 1.0}</c> and <c>{"b": 1, "a": 3.0}</c> agree, as two dicts compare in Python).
/// </summary>
public static class CanonicalJson
{
    /// <summary>The canonical text of <paramref name="e"/>.</summary>
    public static string Of(JsonElement e)
    {
        var sb = new StringBuilder();
        Write(sb, e);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    sb.Append(JsonSerializer.Serialize(p.Name)).Append(':');
                    Write(sb, p.Value);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                int i = 0;
                foreach (var x in e.EnumerateArray()) { if (i++ > 0) sb.Append(','); Write(sb, x); }
                sb.Append(']');
                break;
            case JsonValueKind.Number:
                sb.Append(e.TryGetInt64(out long l) ? l.ToString(CultureInfo.InvariantCulture) : e.GetDouble().ToString("R", CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.String:
                sb.Append(JsonSerializer.Serialize(e.GetString()));
                break;
            default:
                sb.Append(e.GetRawText());
                break;
        }
    }
}

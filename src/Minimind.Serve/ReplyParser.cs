using System.Text.Json;
using System.Text.RegularExpressions;
using Minimind.Model.Text;

namespace Minimind.Serve;

/// <summary>
/// A finished reply split as MiniMind's server does (<c>parse_response</c> in scripts/serve_openai_api.py): the think block
/// becomes <c>reasoning_content</c> (a first <c>&lt;think&gt;…&lt;/think&gt;</c>, else everything before a lone
/// <c>&lt;/think&gt;</c>), every <c>&lt;tool_call&gt;{json}&lt;/tool_call&gt;</c> whose JSON parses becomes a tool call
/// (malformed ones are skipped and stay in the text only when no call parsed), and the rest, stripped, is the content.
/// </summary>
public static partial class ReplyParser
{
    [GeneratedRegex("<think>(.*?)</think>", RegexOptions.Singleline)] private static partial Regex Think();
    [GeneratedRegex(@"<think>.*?</think>\s*", RegexOptions.Singleline)] private static partial Regex ThinkAndSpace();
    [GeneratedRegex("<tool_call>(.*?)</tool_call>", RegexOptions.Singleline)] private static partial Regex Call();

    /// <summary>Splits <paramref name="text"/>; tool-call ids are <c>call_{idPrefix}_{i}</c>.</summary>
    public static (string Content, string? Reasoning, IReadOnlyList<ToolCall>? ToolCalls) Parse(string text, string idPrefix)
    {
        string? reasoning = null;
        var think = Think().Match(text);
        if (think.Success)
        {
            reasoning = PyStrip(think.Groups[1].Value);
            text = ThinkAndSpace().Replace(text, "");
        }
        else if (text.Contains("</think>", StringComparison.Ordinal))
        {
            int at = text.IndexOf("</think>", StringComparison.Ordinal);
            reasoning = PyStrip(text[..at]);
            text = PyStrip(text[(at + "</think>".Length)..]);
        }
        var calls = new List<ToolCall>();
        int i = 0;
        foreach (Match m in Call().Matches(text))
        {
            int index = i++; // MiniMind numbers every match, parsed or not
            try
            {
                using var doc = JsonDocument.Parse(PyStrip(m.Groups[1].Value));
                var call = doc.RootElement;
                if (call.ValueKind != JsonValueKind.Object) continue; // call.get(...) fails on a non-dict: skipped
                string name = call.TryGetProperty("name", out var n) ? (n.ValueKind == JsonValueKind.String ? n.GetString()! : PyJsonWriter.Dumps(n)) : "";
                string args = call.TryGetProperty("arguments", out var a) ? PyJsonWriter.Dumps(a) : "{}";
                calls.Add(new ToolCall($"call_{idPrefix}_{index}", name, args));
            }
            catch (JsonException) { }
        }
        if (calls.Count > 0) text = Call().Replace(text, "");
        return (PyStrip(text), reasoning, calls.Count > 0 ? calls : null);
    }

    // Python's str.strip(): Unicode whitespace at both ends.
    private static string PyStrip(string s) => s.Trim();
}

using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Chat.Jinja;

namespace Minimind.Model.Data.Sft;

/// <summary>
/// One conversation as MiniMind's <c>SFTDataset</c> sees it: every message carries the five fields of its
/// <c>datasets</c> schema (<c>role</c>, <c>content</c>, <c>reasoning_content</c>, <c>tools</c>, <c>tool_calls</c>; missing
/// ones are None), <c>tool_calls</c> given as a JSON string is parsed, and the template's <c>tools</c> argument is
/// the parsed <c>tools</c> of a system message (<c>create_chat_prompt</c>). Roles must be system, user, assistant
/// or tool; errors name <see cref="Origin"/> (file:line).
/// </summary>
public sealed class SftConversation
{
    private static readonly string[] Fields = { "role", "content", "reasoning_content", "tools", "tool_calls" };
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "user", "assistant", "tool" };

    /// <summary>The messages as template values (dicts).</summary>
    public List<object?> Messages { get; }
    /// <summary>The tool list passed to the template, or null.</summary>
    public object? Tools { get; }
    /// <summary>Where the conversation came from (file:line, or a built-in name).</summary>
    public string Origin { get; }
    /// <summary>True when some message is from the assistant.</summary>
    public bool HasAssistant => Messages.Any(m => Role(m) == "assistant");
    /// <summary>True when some message has non-empty <c>tools</c> (MiniMind then never adds a system prompt).</summary>
    public bool HasToolsField => Messages.Any(m => JinjaEvaluator.Truthy(((OrderedDictionary<string, object?>)m!)["tools"]));

    private SftConversation(List<object?> messages, object? tools, string origin) { Messages = messages; Tools = tools; Origin = origin; }

    private static string? Role(object? m) => ((OrderedDictionary<string, object?>)m!)["role"] as string;

    /// <summary>Builds a conversation from (role, content) pairs.</summary>
    public static SftConversation FromTurns(IEnumerable<(string Role, string Content)> turns, string origin)
    {
        var list = new List<object?>();
        foreach (var (role, content) in turns)
        {
            if (!Roles.Contains(role)) throw new InvalidDataException($"{origin}: unknown role '{role}' (expected system, user, assistant or tool)");
            list.Add(Message(role, content, null, null, null));
        }
        return new SftConversation(list, null, origin);
    }

    private static OrderedDictionary<string, object?> Message(string role, object? content, object? reasoning, object? tools, object? toolCalls) =>
        new(StringComparer.Ordinal) { ["role"] = role, ["content"] = content, ["reasoning_content"] = reasoning, ["tools"] = tools, ["tool_calls"] = toolCalls };

    /// <summary>Parses a JSON array of messages (the <c>conversations</c>, <c>chosen</c> or <c>rejected</c> field).</summary>
    public static SftConversation Parse(JsonElement array, string origin)
    {
        if (array.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{origin}: expected an array of messages, got {array.ValueKind}");
        var list = new List<object?>();
        object? tools = null;
        int k = 0;
        foreach (var m in array.EnumerateArray())
        {
            k++;
            string where = $"{origin}: message {k}";
            if (m.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where}: expected an object with \"role\" and \"content\", got {m.ValueKind}");
            foreach (var p in m.EnumerateObject())
                if (Array.IndexOf(Fields, p.Name) < 0) throw new InvalidDataException($"{where}: unknown field \"{p.Name}\" (MiniMind's SFT schema has {string.Join(", ", Fields)})");
            string role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()!
                : throw new InvalidDataException($"{where}: no \"role\" string");
            if (!Roles.Contains(role)) throw new InvalidDataException($"{where}: unknown role '{role}' (expected system, user, assistant or tool)");
            var content = OptString(m, "content", where);
            var reasoning = OptString(m, "reasoning_content", where);
            object? toolsField = OptJsonOrString(m, "tools", where, keepString: true);
            object? toolCalls = OptJsonOrString(m, "tool_calls", where, keepString: false);
            if (role == "system" && JinjaEvaluator.Truthy(toolsField))
                tools = toolsField is string s ? ParseJson(s, where, "tools") : toolsField;
            list.Add(Message(role, content, reasoning, toolsField, toolCalls));
        }
        return new SftConversation(list, tools, origin);
    }

    private static string? OptString(JsonElement m, string field, string where)
    {
        if (!m.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new InvalidDataException($"{where}: \"{field}\" is {v.ValueKind}, expected a string");
    }

    // tools/tool_calls are JSON strings in MiniMind's data; arrays/objects are taken as already parsed.
    private static object? OptJsonOrString(JsonElement m, string field, string where, bool keepString)
    {
        if (!m.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String)
        {
            string s = v.GetString()!;
            return keepString || s.Length == 0 ? s : ParseJson(s, where, field);
        }
        if (v.ValueKind is JsonValueKind.Array or JsonValueKind.Object) return JinjaJson.FromJson(v);
        throw new InvalidDataException($"{where}: \"{field}\" is {v.ValueKind}, expected a JSON string, array or object");
    }

    private static object? ParseJson(string s, string where, string field)
    {
        try { return JinjaJson.Parse(s); }
        catch (JsonException e) { throw new InvalidDataException($"{where}: \"{field}\" is not valid JSON: {e.Message}", e); }
    }

    /// <summary>
    /// The training text, as <c>SFTDataset.__getitem__</c> builds it: pre-processing (a system prompt when chosen),
    /// the chat template without generation prompt, post-processing (empty think blocks removed when chosen).
    /// <paramref name="preProcess"/> false skips the system prompt (DPO rows get only the post-processing).
    /// </summary>
    public string Render(ChatTemplate template, SftChoices choices, bool preProcess = true)
    {
        var messages = Messages;
        if (preProcess && choices.SystemPrompt >= 0 && !HasToolsField && (messages.Count == 0 || Role(messages[0]) != "system"))
        {
            var sys = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
            { ["role"] = "system", ["content"] = SftAugmentation.SystemPrompts[choices.SystemPrompt] };
            messages = new List<object?> { sys }.Concat(messages).ToList();
        }
        string text;
        try { text = template.Render(messages, preProcess ? Tools : null, addGenerationPrompt: false); }
        catch (JinjaException e) { throw new InvalidDataException($"{Origin}: {e.Message}", e); }
        if (choices.DropEmptyThink && text.Contains(SftAugmentation.EmptyThink, StringComparison.Ordinal))
            text = text.Replace(SftAugmentation.EmptyThink, "", StringComparison.Ordinal);
        return text;
    }
}

using System.Text.Json;
using Minimind.Model.Chat.Jinja;

namespace Minimind.Serve;

/// <summary>
/// One <c>/v1/chat/completions</c> or <c>/v1/completions</c> body, validated. Defaults are MiniMind's
/// <c>scripts/serve_openai_api.py</c> (temperature 0.7, top-p 0.92, its generate()'s top-k 50) except <c>stream</c>,
/// which defaults to false as in OpenAI's API (MiniMind's true would hand every non-streaming SDK call an event stream),
/// and <c>max_tokens</c>, which defaults to what the context leaves (MiniMind's 8192, capped).
/// </summary>
public sealed class CompletionRequest
{
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "user", "assistant", "tool" };

    /// <summary>Chat messages as template values (null for <c>/v1/completions</c>).</summary>
    public List<object?>? Messages { get; private init; }
    /// <summary>The plain prompt of <c>/v1/completions</c> (null for chat).</summary>
    public string? Prompt { get; private init; }
    /// <summary>The <c>tools</c> list as template values, or null when none.</summary>
    public object? Tools { get; private init; }
    /// <summary><c>open_thinking</c>, or <c>chat_template_kwargs.open_thinking</c> / <c>enable_thinking</c>.</summary>
    public bool OpenThinking { get; private init; }
    /// <summary>Temperature; 0 = greedy.</summary>
    public float Temperature { get; private init; } = 0.7f;
    /// <summary>Nucleus mass (0, 1].</summary>
    public float TopP { get; private init; } = 0.92f;
    /// <summary>Top-k (0 = off).</summary>
    public int TopK { get; private init; } = 50;
    /// <summary><c>max_tokens</c> / <c>max_completion_tokens</c>, or null for what the context leaves.</summary>
    public int? MaxTokens { get; private init; }
    /// <summary>Stream server-sent events.</summary>
    public bool Stream { get; private init; }
    /// <summary><c>stream_options.include_usage</c>: a last chunk with the token counts.</summary>
    public bool IncludeUsage { get; private init; }
    /// <summary>Strings that end the reply (not included in it).</summary>
    public string[] Stop { get; private init; } = Array.Empty<string>();
    /// <summary>The sampling seed, or null for a fresh one.</summary>
    public long? Seed { get; private init; }
    /// <summary><c>ignore_eos</c> (vLLM's extension, for benchmarks): the end-of-turn / eos token does not end the reply;
    /// only <c>max_tokens</c>, the context or a stop string do.</summary>
    public bool IgnoreEos { get; private init; }

    /// <summary>Parses and validates a body; <paramref name="chat"/> selects the endpoint's shape. Throws <see cref="ApiException"/> (400).</summary>
    public static CompletionRequest Parse(ReadOnlySpan<byte> body, bool chat)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body.ToArray()); }
        catch (JsonException e) { throw new ApiException(400, $"the request body is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ApiException(400, "the request body must be a JSON object");
            bool stream = Bool(root, "stream") ?? false;
            var r = new CompletionRequest
            {
                Messages = chat ? ParseMessages(root) : null,
                Prompt = chat ? null : ParsePrompt(root),
                Tools = chat ? ParseTools(root) : null,
                OpenThinking = chat && ParseThinking(root),
                Temperature = (float)(Number(root, "temperature", 0, 2) ?? 0.7),
                TopP = (float)(Number(root, "top_p", 0, 1) ?? 0.92),
                TopK = (int)(Integer(root, "top_k", 0, int.MaxValue) ?? 50),
                MaxTokens = (int?)(Integer(root, "max_completion_tokens", 1, int.MaxValue) ?? Integer(root, "max_tokens", 1, int.MaxValue)),
                Stream = stream,
                IncludeUsage = stream && root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && (Bool(so, "include_usage") ?? false),
                Stop = ParseStop(root),
                Seed = Integer(root, "seed", long.MinValue, long.MaxValue),
                IgnoreEos = Bool(root, "ignore_eos") ?? false,
            };
            if (r.TopP <= 0) throw ApiException.BadField("top_p", "top_p must be in (0, 1]");
            if (Integer(root, "n", 1, int.MaxValue) is long n && n != 1) throw ApiException.BadField("n", $"n = {n}: this server returns one choice per request (n = 1)");
            return r;
        }
    }

    private static List<object?> ParseMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var m) || m.ValueKind == JsonValueKind.Null)
            throw ApiException.BadField("messages", "'messages' is required");
        if (m.ValueKind != JsonValueKind.Array) throw ApiException.BadField("messages", "'messages' must be an array of {role, content} objects");
        if (m.GetArrayLength() == 0) throw ApiException.BadField("messages", "'messages' is empty: give at least one message");
        var list = new List<object?>();
        int i = 0;
        foreach (var msg in m.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (msg.ValueKind != JsonValueKind.Object) throw ApiException.BadField(at, $"{at} must be an object with 'role' and 'content'");
            if (!msg.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw ApiException.BadField($"{at}.role", $"{at} has no 'role' string");
            if (!Roles.Contains(role.GetString()!))
                throw ApiException.BadField($"{at}.role", $"{at}.role '{role.GetString()}' is not one of system, user, assistant, tool");
            var d = (OrderedDictionary<string, object?>)JinjaJson.FromJson(msg)!;
            d["content"] = Content(msg, at);
            list.Add(d);
        }
        return list;
    }

    // A message's content as the template takes it: a string; an array of {type: "text", text} parts is joined; null/absent
    // is empty (an assistant turn that only calls tools).
    private static string Content(JsonElement msg, string at)
    {
        if (!msg.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind == JsonValueKind.Array)
        {
            var sb = new System.Text.StringBuilder();
            foreach (var part in c.EnumerateArray())
            {
                if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "text"
                    && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    sb.Append(text.GetString());
                else throw ApiException.BadField($"{at}.content", $"{at}.content: only text parts ({{\"type\": \"text\", \"text\": ...}}) are supported");
            }
            return sb.ToString();
        }
        throw ApiException.BadField($"{at}.content", $"{at}.content must be a string or an array of text parts");
    }

    private static string ParsePrompt(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var p) || p.ValueKind == JsonValueKind.Null) throw ApiException.BadField("prompt", "'prompt' is required");
        if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String) p = p[0];
        if (p.ValueKind != JsonValueKind.String) throw ApiException.BadField("prompt", "'prompt' must be a string (one prompt per request)");
        if (p.GetString()!.Length == 0) throw ApiException.BadField("prompt", "'prompt' is empty");
        return p.GetString()!;
    }

    private static object? ParseTools(JsonElement root)
    {
        if (!root.TryGetProperty("tools", out var t) || t.ValueKind == JsonValueKind.Null) return null;
        if (t.ValueKind != JsonValueKind.Array) throw ApiException.BadField("tools", "'tools' must be an array of tool objects");
        return t.GetArrayLength() == 0 ? null : JinjaJson.FromJson(t); // MiniMind passes `tools or None`
    }

    // serve_openai_api.py's get_open_thinking(): the top-level flag, else either template kwarg.
    private static bool ParseThinking(JsonElement root)
    {
        if (Bool(root, "open_thinking") == true) return true;
        if (!root.TryGetProperty("chat_template_kwargs", out var k) || k.ValueKind != JsonValueKind.Object) return false;
        return Truthy(k, "open_thinking") || Truthy(k, "enable_thinking");
    }

    private static bool Truthy(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.Number => v.GetDouble() != 0,
        JsonValueKind.String => v.GetString()!.Length > 0,
        _ => false,
    };

    private static string[] ParseStop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var s) || s.ValueKind == JsonValueKind.Null) return Array.Empty<string>();
        string[] stops = s.ValueKind switch
        {
            JsonValueKind.String => new[] { s.GetString()! },
            JsonValueKind.Array when s.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => s.EnumerateArray().Select(e => e.GetString()!).ToArray(),
            _ => throw ApiException.BadField("stop", "'stop' must be a string or an array of strings"),
        };
        if (stops.Length > 4) throw ApiException.BadField("stop", $"'stop' has {stops.Length} strings; at most 4");
        if (stops.Any(x => x.Length == 0)) throw ApiException.BadField("stop", "'stop' strings must not be empty");
        return stops;
    }

    private static bool? Bool(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadField(name, $"'{name}' must be true or false"),
        };
    }

    private static double? Number(JsonElement o, string name, double min, double max)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw ApiException.BadField(name, $"'{name}' must be a number");
        double x = v.GetDouble();
        if (!(x >= min && x <= max)) throw ApiException.BadField(name, $"'{name}' = {v.GetRawText()} is outside [{min}, {max}]");
        return x;
    }

    private static long? Integer(JsonElement o, string name, long min, long max)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw ApiException.BadField(name, $"'{name}' must be an integer");
        if (x < min || x > max) throw ApiException.BadField(name, $"'{name}' = {x} is outside [{min}, {max}]");
        return x;
    }
}

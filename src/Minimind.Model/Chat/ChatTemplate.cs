using System.Text.Json;
using Minimind.Model.Chat.Jinja;

namespace Minimind.Model.Chat;

/// <summary>
/// A tokenizer's chat template rendered as HuggingFace's <c>tokenizer.apply_chat_template(messages,
/// tokenize=False, add_generation_prompt=..., tools=..., **kwargs)</c> renders it: the template sees
/// <c>messages</c>, <c>tools</c>, <c>documents</c> (none), <c>add_generation_prompt</c>, the tokenizer's special
/// tokens (<c>bos_token</c>, <c>eos_token</c>, ...) and the extra keyword arguments (e.g. <c>open_thinking</c>).
/// </summary>
public sealed class ChatTemplate
{
    private readonly JinjaTemplate _template;
    private readonly Dictionary<string, object?> _specialTokens;

    /// <summary>Where the template came from (file and field, or "built-in").</summary>
    public string Source => _template.Name;
    /// <summary>Text of the bos token (MiniMind's assistant-span marker starts with it).</summary>
    public string BosToken { get; }
    /// <summary>Text of the eos token (MiniMind's assistant-span end marker starts with it).</summary>
    public string EosToken { get; }

    /// <summary>Creates a template from Jinja source and the tokenizer's special-token texts (HF's <c>special_tokens_map</c>).</summary>
    public ChatTemplate(string source, string name, string bosToken, string eosToken, IReadOnlyDictionary<string, object?>? specialTokens = null)
    {
        _template = JinjaTemplate.Parse(source, name);
        BosToken = bosToken;
        EosToken = eosToken;
        _specialTokens = new(specialTokens ?? new Dictionary<string, object?>());
        _specialTokens.TryAdd("bos_token", bosToken);
        _specialTokens.TryAdd("eos_token", eosToken);
    }

    /// <summary>
    /// The built-in ChatML template of the byte tokenizer's chat variant: <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>
    /// per message (system, user, assistant), generation prompt <c>&lt;|im_start|&gt;assistant\n</c>; no think block,
    /// no tools (the built-in model is too small for either). Other roles raise an error.
    /// </summary>
    public static ChatTemplate Builtin { get; } = new(BuiltinSource, "built-in ChatML template", "<|im_start|>", "<|im_end|>");

    /// <summary>Jinja source of <see cref="Builtin"/> (tests/fixtures/chat/builtin.jinja holds the same text for the reference renderers).</summary>
    public const string BuiltinSource =
        "{%- for message in messages %}\n" +
        "    {%- if message.role not in ['system', 'user', 'assistant'] %}\n" +
        "        {{- raise_exception('the built-in chat template supports the roles system, user and assistant, not ' + message.role) }}\n" +
        "    {%- endif %}\n" +
        "    {{- '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string else '') + '<|im_end|>\\n' }}\n" +
        "{%- endfor %}\n" +
        "{%- if add_generation_prompt %}\n" +
        "    {{- '<|im_start|>assistant\\n' }}\n" +
        "{%- endif %}\n";

    /// <summary>
    /// Reads <c>chat_template</c>, <c>bos_token</c>, <c>eos_token</c>, <c>pad_token</c>, <c>unk_token</c> and
    /// <c>additional_special_tokens</c> from <c>tokenizer_config.json</c> in <paramref name="folderOrFile"/>
    /// (a folder, its tokenizer.json, or the config file itself).
    /// </summary>
    public static ChatTemplate FromTokenizerConfig(string folderOrFile)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, "tokenizer_config.json")
            : Path.GetFileName(folderOrFile) == "tokenizer_config.json" ? folderOrFile
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(folderOrFile))!, "tokenizer_config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} not found: the chat template comes from the tokenizer's tokenizer_config.json", path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var r = doc.RootElement;
            if (!r.TryGetProperty("chat_template", out var t) || t.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: no \"chat_template\" string (a list of named templates is not supported)");
            var special = new Dictionary<string, object?>();
            foreach (var field in new[] { "bos_token", "eos_token", "unk_token", "pad_token" })
                if (TokenText(r, field) is { } s) special[field] = s;
            if (r.TryGetProperty("additional_special_tokens", out var add) && add.ValueKind == JsonValueKind.Array)
                special["additional_special_tokens"] = add.EnumerateArray().Select(e => (object?)(e.ValueKind == JsonValueKind.String ? e.GetString() : TokenText(e))).ToList();
            string bos = special.GetValueOrDefault("bos_token") as string ?? throw new InvalidDataException($"{path}: no bos_token (MiniMind's assistant marker is bos + 'assistant\\n')");
            string eos = special.GetValueOrDefault("eos_token") as string ?? throw new InvalidDataException($"{path}: no eos_token");
            try { return new ChatTemplate(t.GetString()!, path + " (chat_template)", bos, eos, special); }
            catch (JinjaException e) { throw new InvalidDataException(e.Message, e); }
        }
    }

    private static string? TokenText(JsonElement root, string field) =>
        root.TryGetProperty(field, out var v) ? TokenText(v) : null;

    private static string? TokenText(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };

    /// <summary>
    /// Renders <paramref name="messages"/> (a list of dicts, see <see cref="JinjaJson"/>). <paramref name="tools"/> is
    /// the tool list or null; <paramref name="kwargs"/> are extra template variables (they override special tokens, as in HF).
    /// </summary>
    public string Render(List<object?> messages, object? tools = null, bool addGenerationPrompt = false,
        IReadOnlyDictionary<string, object?>? kwargs = null)
    {
        var vars = new Dictionary<string, object?>(_specialTokens)
        {
            ["messages"] = messages,
            ["tools"] = tools,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        if (kwargs is not null) foreach (var (k, v) in kwargs) vars[k] = v;
        return _template.Render(vars);
    }
}

using System.Text;
using System.Text.Json;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// HuggingFace ByteLevel BPE (<c>tokenizer.json</c>) as MiniMind uses it, id-exact with the Rust
/// <c>tokenizers</c> core: added tokens are matched leftmost-longest first, the rest is split with GPT-2's
/// pre-tokenizer regex on code points, each piece's UTF-8 bytes are BPE-merged. Files with features this
/// implementation does not reproduce (normalizers, other pre-tokenizers, lstrip/rstrip, ...) are refused
/// with an error naming the file and field rather than tokenized approximately.
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    private readonly BpeMerges _bpe;
    private readonly AddedTokenMatcher _rawAdded;        // added tokens with normalized=false: matched first
    private readonly AddedTokenMatcher _normalizedAdded; // normalized=true: matched in what is left (no normalizer exists)
    private readonly byte[][] _tokenBytes;
    private readonly bool[] _special;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly string?[] _idToToken;

    /// <inheritdoc/>
    public int VocabSize => _tokenBytes.Length;
    /// <inheritdoc/>
    public int BosId { get; }
    /// <inheritdoc/>
    public int EosId { get; }
    /// <inheritdoc/>
    public int PadId { get; }
    /// <summary>The file this tokenizer was read from.</summary>
    public string SourcePath { get; }

    private BpeTokenizer(string path, BpeMerges bpe, AddedTokenMatcher raw, AddedTokenMatcher normalized, byte[][] tokenBytes,
        bool[] special, Dictionary<string, int> tokenToId, string?[] idToToken, int bos, int eos, int pad)
    {
        SourcePath = path; _bpe = bpe; _rawAdded = raw; _normalizedAdded = normalized; _tokenBytes = tokenBytes;
        _special = special; _tokenToId = tokenToId; _idToToken = idToToken; BosId = bos; EosId = eos; PadId = pad;
    }

    /// <summary>The id of a token string (vocab or added token), or null.</summary>
    public int? TokenToId(string token) => _tokenToId.TryGetValue(token, out int id) ? id : null;

    /// <summary>The token string of an id as stored in the file (ByteLevel characters), or null.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Empties the word cache (frees its memory; the next encodes run cold).</summary>
    public void ClearCache() => _bpe.ClearCache();

    /// <inheritdoc/>
    public bool IsSpecial(int id) => (uint)id < (uint)_special.Length && _special[id];

    /// <inheritdoc/>
    public ReadOnlySpan<byte> TokenBytes(int id, bool skipSpecialTokens = false)
    {
        if ((uint)id >= (uint)_tokenBytes.Length) return default;   // HF skips ids it does not know
        if (skipSpecialTokens && _special[id]) return default;
        return _tokenBytes[id];
    }

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 2 + 4);
        Encode(text, ids);
        return ids.ToArray();
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/> (no bos/eos added).</summary>
    public void Encode(string text, List<int> ids)
    {
        var raw = new List<(int Start, int Length, int Id)>();
        _rawAdded.Split(text, 0, text.Length, raw);
        var words = new List<(int Start, int Length)>();
        foreach (var (start, length, id) in raw)
        {
            if (id >= 0) { ids.Add(id); continue; }
            if (_normalizedAdded.IsEmpty) { EncodePlain(text.AsSpan(start, length), ids, words); continue; }
            var inner = new List<(int Start, int Length, int Id)>();
            _normalizedAdded.Split(text, start, length, inner);
            foreach (var (s2, l2, id2) in inner)
                if (id2 >= 0) ids.Add(id2); else EncodePlain(text.AsSpan(s2, l2), ids, words);
        }
    }

    private void EncodePlain(ReadOnlySpan<char> segment, List<int> ids, List<(int Start, int Length)> words)
    {
        words.Clear();
        GptPreTokenizer.Split(segment, words);
        foreach (var (s, l) in words) _bpe.EncodeWord(segment.Slice(s, l), ids);
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 3);
        foreach (int id in ids) bytes.AddRange(TokenBytes(id, skipSpecialTokens));
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>
    /// Reads a HF <c>tokenizer.json</c>. bos/eos/pad come from <c>tokenizer_config.json</c> in the same folder
    /// when present (pad falls back to its unk_token), else from the MiniMind names
    /// (<c>&lt;|im_start|&gt;</c>/<c>&lt;s&gt;</c>, <c>&lt;|im_end|&gt;</c>/<c>&lt;/s&gt;</c>, <c>&lt;|endoftext|&gt;</c>/<c>&lt;unk&gt;</c>).
    /// Throws <see cref="InvalidDataException"/> naming the file and field for anything unsupported.
    /// </summary>
    public static BpeTokenizer FromFile(string tokenizerJsonPath)
    {
        if (!File.Exists(tokenizerJsonPath)) throw new FileNotFoundException($"tokenizer file not found: {tokenizerJsonPath}", tokenizerJsonPath);
        string path = tokenizerJsonPath;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            InvalidDataException Bad(string field, string what) => new($"{path}: unsupported {field}: {what}");

            if (root.ValueKind != JsonValueKind.Object) throw Bad("document", "the top level is not a JSON object");
            foreach (var field in new[] { "normalizer", "truncation", "padding" })
                if (root.TryGetProperty(field, out var f) && f.ValueKind != JsonValueKind.Null)
                    throw Bad(field, $"{f.GetRawText()} (only null is supported)");

            // Pre-tokenizer: exactly ByteLevel(add_prefix_space=false, use_regex=true).
            if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
                throw Bad("pre_tokenizer", "missing or null (a ByteLevel pre-tokenizer is required)");
            if (Str(pre, "type") != "ByteLevel") throw Bad("pre_tokenizer.type", $"'{Str(pre, "type")}' (only ByteLevel is supported)");
            if (Bool(pre, "add_prefix_space", false)) throw Bad("pre_tokenizer.add_prefix_space", "true (only false is supported)");
            if (!Bool(pre, "use_regex", true)) throw Bad("pre_tokenizer.use_regex", "false (only true is supported)");

            if (root.TryGetProperty("decoder", out var dec) && dec.ValueKind != JsonValueKind.Null && Str(dec, "type") != "ByteLevel")
                throw Bad("decoder.type", $"'{Str(dec, "type")}' (only ByteLevel or null is supported)");
            if (root.TryGetProperty("post_processor", out var post) && post.ValueKind != JsonValueKind.Null && Str(post, "type") != "ByteLevel")
                throw Bad("post_processor.type", $"'{Str(post, "type")}' (only ByteLevel or null is supported)");

            // Model: plain byte-level BPE.
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object) throw Bad("model", "missing");
            if (Str(model, "type") is string mt && mt != "BPE") throw Bad("model.type", $"'{mt}' (only BPE is supported)");
            if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind != JsonValueKind.Null)
                throw Bad("model.dropout", dropout.GetRawText() + " (only null is supported)");
            foreach (var field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
                if (!string.IsNullOrEmpty(Str(model, field))) throw Bad("model." + field, $"'{Str(model, field)}' (only null is supported)");
            if (Bool(model, "byte_fallback", false)) throw Bad("model.byte_fallback", "true (only false is supported)");
            if (Bool(model, "ignore_merges", false)) throw Bad("model.ignore_merges", "true (only false is supported)");

            if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object) throw Bad("model.vocab", "missing or not an object");
            var tokenToId = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in vocabEl.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                    throw Bad("model.vocab", $"entry '{p.Name}' has id {p.Value.GetRawText()}, not a non-negative integer");
                tokenToId[p.Name] = id;
            }

            var byteIds = new int[256];
            int missingBytes = 0;
            for (int b = 0; b < 256; b++)
            {
                byteIds[b] = tokenToId.TryGetValue(ByteLevelAlphabet.ToChar((byte)b).ToString(), out int id) ? id : -1;
                if (byteIds[b] < 0) missingBytes++;
            }
            if (missingBytes > 0 && !string.IsNullOrEmpty(Str(model, "unk_token")))
                throw Bad("model.unk_token", $"set while {missingBytes} byte(s) have no token (unknown-token substitution is not supported)");

            if (!model.TryGetProperty("merges", out var mergesEl) || mergesEl.ValueKind != JsonValueKind.Array) throw Bad("model.merges", "missing or not an array");
            var merges = new List<(int, int, int)>(mergesEl.GetArrayLength());
            int rank = 0;
            foreach (var m in mergesEl.EnumerateArray())
            {
                string a, b;
                if (m.ValueKind == JsonValueKind.String)
                {
                    string s = m.GetString()!;
                    int sp = s.IndexOf(' ');
                    if (sp <= 0 || sp == s.Length - 1 || s.IndexOf(' ', sp + 1) >= 0)
                        throw Bad("model.merges", $"entry {rank} '{s}' is not of the form \"a b\"");
                    a = s[..sp]; b = s[(sp + 1)..];
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                {
                    a = m[0].GetString()!; b = m[1].GetString()!;
                }
                else throw Bad("model.merges", $"entry {rank} {m.GetRawText()} is neither \"a b\" nor [\"a\", \"b\"]");
                if (!tokenToId.TryGetValue(a, out int ia) || !tokenToId.TryGetValue(b, out int ib))
                    throw Bad("model.merges", $"entry {rank} '{a} {b}' uses a token missing from model.vocab");
                if (!tokenToId.TryGetValue(a + b, out int im))
                    throw Bad("model.merges", $"entry {rank} '{a} {b}': the merged token '{a + b}' is missing from model.vocab");
                merges.Add((ia, ib, im));
                rank++;
            }

            // Added tokens override the vocab entry of the same id.
            var added = new List<(string Content, int Id, bool Special, bool Normalized)>();
            if (root.TryGetProperty("added_tokens", out var addedEl) && addedEl.ValueKind == JsonValueKind.Array)
            {
                int k = 0;
                foreach (var t in addedEl.EnumerateArray())
                {
                    string content = Str(t, "content") ?? throw Bad($"added_tokens[{k}].content", "missing");
                    if (!t.TryGetProperty("id", out var idEl) || !idEl.TryGetInt32(out int id) || id < 0)
                        throw Bad($"added_tokens[{k}].id", "missing or not a non-negative integer");
                    foreach (var flag in new[] { "lstrip", "rstrip", "single_word" })
                        if (Bool(t, flag, false)) throw Bad($"added_tokens[{k}].{flag}", $"true for '{content}' (only false is supported)");
                    added.Add((content, id, Bool(t, "special", false), Bool(t, "normalized", true)));
                    k++;
                }
            }

            int vocabSize = 0;
            foreach (var id in tokenToId.Values) vocabSize = Math.Max(vocabSize, id + 1);
            foreach (var t in added) vocabSize = Math.Max(vocabSize, t.Id + 1);
            var tokenBytes = new byte[vocabSize][];
            var idToToken = new string?[vocabSize];
            var special = new bool[vocabSize];
            foreach (var (tok, id) in tokenToId) { idToToken[id] = tok; tokenBytes[id] = ByteLevelAlphabet.DecodeToken(tok); }
            foreach (var t in added)
            {
                idToToken[t.Id] = t.Content; tokenBytes[t.Id] = ByteLevelAlphabet.DecodeToken(t.Content);
                special[t.Id] = t.Special; tokenToId[t.Content] = t.Id;
            }
            for (int i = 0; i < vocabSize; i++) tokenBytes[i] ??= Array.Empty<byte>();

            var (bos, eos, pad) = ResolveSpecialIds(path, tokenToId);
            return new BpeTokenizer(path, new BpeMerges(byteIds, merges),
                new AddedTokenMatcher(added.Where(t => !t.Normalized).Select(t => (t.Content, t.Id))),
                new AddedTokenMatcher(added.Where(t => t.Normalized).Select(t => (t.Content, t.Id))),
                tokenBytes, special, tokenToId, idToToken, bos, eos, pad);
        }
    }

    private static (int Bos, int Eos, int Pad) ResolveSpecialIds(string tokenizerPath, Dictionary<string, int> tokenToId)
    {
        string configPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerPath))!, "tokenizer_config.json");
        string? bos = null, eos = null, pad = null, unk = null;
        string source;
        if (File.Exists(configPath))
        {
            source = configPath;
            try
            {
                using var cfg = JsonDocument.Parse(File.ReadAllBytes(configPath));
                var r = cfg.RootElement;
                bos = TokenName(r, "bos_token"); eos = TokenName(r, "eos_token");
                pad = TokenName(r, "pad_token"); unk = TokenName(r, "unk_token");
            }
            catch (JsonException e) { throw new InvalidDataException($"{configPath}: not valid JSON: {e.Message}", e); }
            pad ??= unk;
        }
        else
        {
            source = tokenizerPath + " (no tokenizer_config.json beside it; MiniMind token names assumed)";
            bos = new[] { "<|im_start|>", "<s>" }.FirstOrDefault(tokenToId.ContainsKey);
            eos = new[] { "<|im_end|>", "</s>" }.FirstOrDefault(tokenToId.ContainsKey);
            pad = new[] { "<|endoftext|>", "<unk>", "<pad>" }.FirstOrDefault(tokenToId.ContainsKey);
        }
        int Id(string? name, string field) =>
            name is null ? throw new InvalidDataException($"{source}: no {field} defined")
            : tokenToId.TryGetValue(name, out int id) ? id
            : throw new InvalidDataException($"{source}: {field} '{name}' is not a token of {tokenizerPath}");
        return (Id(bos, "bos_token"), Id(eos, "eos_token"), Id(pad, "pad_token (or unk_token)"));
    }

    // tokenizer_config.json stores a token either as a string or as {"content": "..."}.
    private static string? TokenName(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object => Str(v, "content"),
            _ => null,
        };
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement e, string name, bool def) =>
        e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : def;
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Minimind.Checkpoint;
using Minimind.Model.Chat;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Export;

/// <summary>The vocabulary a GGUF file embeds (<c>tokenizer.ggml.*</c>).</summary>
/// <param name="Tokens">Token strings by id (byte-level alphabet, as tokenizer.json spells them).</param>
/// <param name="Types">llama.cpp token types: 1 normal, 3 control, 5 unused.</param>
/// <param name="Merges">BPE merges as "a b".</param>
/// <param name="Bos">Begin-of-sequence id.</param>
/// <param name="Eos">End-of-sequence id.</param>
/// <param name="Pad">Padding id.</param>
/// <param name="ChatTemplate">The Jinja chat template, or null.</param>
public sealed record GgufVocabulary(string[] Tokens, int[] Types, IReadOnlyList<string> Merges, int Bos, int Eos, int Pad, string? ChatTemplate);

/// <summary>
/// The tokenizer an exported model carries: MiniMind's BPE tokenizer (a folder with tokenizer.json and
/// tokenizer_config.json, copied into an HF folder and embedded in GGUF as <c>gpt2</c>/<c>gpt-2</c>), or the built-in
/// byte tokenizer (<c>byte</c>), written as a byte-level BPE with no merges: ids 0–255 the bytes, 256 <c>&lt;pad&gt;</c>,
/// 257 <c>&lt;|im_start|&gt;</c> (bos), 258 <c>&lt;|im_end|&gt;</c> (eos) — the ids of <see cref="ByteTokenizer"/>'s chat
/// variant — with the built-in ChatML template, so llama.cpp and HF <c>tokenizers</c> encode text as this program does.
/// </summary>
public sealed class ExportTokenizer
{
    private ExportTokenizer(string spec, string? folder) { Spec = spec; Folder = folder; }

    /// <summary>What was asked for: <c>byte</c> or the tokenizer's path.</summary>
    public string Spec { get; }
    /// <summary>The folder of a BPE tokenizer (holding tokenizer.json); null for the byte tokenizer.</summary>
    public string? Folder { get; }
    /// <summary>True for the built-in byte tokenizer.</summary>
    public bool IsByte => Folder is null;

    /// <summary>The byte tokenizer's specials, by id 256, 257, 258.</summary>
    public static readonly string[] ByteSpecials = { "<pad>", ByteTokenizer.ChatBos, ByteTokenizer.ChatEos };

    /// <summary><c>byte</c>, a folder holding tokenizer.json, or a tokenizer.json file; <paramref name="flag"/> names the option in errors.</summary>
    public static ExportTokenizer From(string spec, string flag = "--tokenizer")
    {
        if (spec == "byte") return new ExportTokenizer(spec, null);
        var dir = Directory.Exists(spec) ? spec
            : File.Exists(spec) ? Path.GetDirectoryName(Path.GetFullPath(spec))!
            : throw new FileNotFoundException($"{flag} '{spec}' not found: expected 'byte', a tokenizer.json file or a folder containing one", spec);
        if (!File.Exists(Path.Combine(dir, "tokenizer.json"))) throw new FileNotFoundException($"{flag} '{spec}': no tokenizer.json in {dir}");
        return new ExportTokenizer(spec, dir);
    }

    private ITokenizer? _loaded;

    /// <summary>The tokenizer itself (read once): the byte tokenizer with its chat markers, or the folder's BPE tokenizer.</summary>
    public ITokenizer Load() => _loaded ??= IsByte ? new ByteTokenizer(chatMarkers: true) : BpeTokenizer.FromFile(Path.Combine(Folder!, "tokenizer.json"));

    /// <summary>The vocabulary for a model of <paramref name="vocabSize"/> ids; ids past the tokenizer (a padded embedding)
    /// become unused placeholders, as llama.cpp's converter writes them.</summary>
    public GgufVocabulary Gguf(int vocabSize)
    {
        var tok = Load();
        if (tok.VocabSize > vocabSize)
            throw new InvalidDataException($"{Spec}: the tokenizer has {tok.VocabSize} tokens but the model's vocabulary is {vocabSize}");
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            string? t = i >= tok.VocabSize ? null : IsByte ? (i < 256 ? ByteLevelAlphabet.ToChar((byte)i).ToString() : ByteSpecials[i - 256]) : ((BpeTokenizer)tok).IdToToken(i);
            tokens[i] = t ?? $"[PAD{i}]";
            types[i] = t is null ? 5 : tok.IsSpecial(i) ? 3 : 1;
        }
        IReadOnlyList<string> merges = IsByte ? Array.Empty<string>() : Merges(Path.Combine(Folder!, "tokenizer.json"));
        return new GgufVocabulary(tokens, types, merges, tok.BosId, tok.EosId, tok.PadId, ChatTemplateText());
    }

    // The byte tokenizer's template is the built-in one; a folder's is in its tokenizer_config.json (if any).
    private string? ChatTemplateText()
    {
        if (IsByte) return ChatTemplate.BuiltinSource;
        var cfg = Path.Combine(Folder!, "tokenizer_config.json");
        if (!File.Exists(cfg)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(cfg));
        return doc.RootElement.TryGetProperty("chat_template", out var ct) && ct.ValueKind == JsonValueKind.String ? ct.GetString() : null;
    }

    // tokenizer.json merges are "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
    private static List<string> Merges(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var list = new List<string>();
        foreach (var m in doc.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray())
            list.Add(m.ValueKind == JsonValueKind.String ? m.GetString()! : m[0].GetString() + " " + m[1].GetString());
        return list;
    }

    /// <summary>The tokenizer files copied from a folder when present.</summary>
    public static readonly string[] HfFiles = { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja" };

    /// <summary>The tokenizer files of an HF folder, by name: a folder's own (tokenizer_config.json with the two fields
    /// MiniMind's convert_model.py adds), or the byte tokenizer's tokenizer.json and tokenizer_config.json.</summary>
    public IReadOnlyList<(string Name, byte[] Bytes)> HfFolderFiles()
    {
        if (IsByte) return new[] { ("tokenizer.json", Json(ByteTokenizerJson())), ("tokenizer_config.json", Json(ByteTokenizerConfig())) };
        var files = new List<(string, byte[])>();
        foreach (var f in HfFiles)
        {
            var src = Path.Combine(Folder!, f);
            if (File.Exists(src)) files.Add((f, f == "tokenizer_config.json" ? TokenizerConfig(src) : File.ReadAllBytes(src)));
        }
        return files;
    }

    private static byte[] Json(JsonNode node) =>
        JsonSerializer.SerializeToUtf8Bytes(node, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    // MiniMind's script adds these two fields to the saved tokenizer_config.json.
    private static byte[] TokenizerConfig(string path)
    {
        var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
        node["tokenizer_class"] = "PreTrainedTokenizerFast";
        node["extra_special_tokens"] = new JsonObject();
        return Json(node);
    }

    private static JsonObject AddedToken(int id, string content) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
    };

    // MiniMind's tokenizer.json layout (ByteLevel pre-tokenizer and decoder, plain BPE) with the 256 bytes as the vocabulary.
    private static JsonObject ByteTokenizerJson()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ToChar((byte)b).ToString()] = b;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(ByteSpecials.Select((s, i) => (JsonNode)AddedToken(256 + i, s)).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
    }

    private static JsonObject ByteTokenizerConfig()
    {
        var decoder = new JsonObject();
        for (int i = 0; i < ByteSpecials.Length; i++)
        {
            var t = AddedToken(256 + i, ByteSpecials[i]);
            t.Remove("id");
            decoder[(256 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)] = t;
        }
        return new JsonObject
        {
            ["add_bos_token"] = false,
            ["add_eos_token"] = false,
            ["add_prefix_space"] = false,
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = ByteTokenizer.ChatBos,
            ["eos_token"] = ByteTokenizer.ChatEos,
            ["pad_token"] = ByteSpecials[0],
            ["unk_token"] = null,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = 131072,
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["extra_special_tokens"] = new JsonObject(),
            ["chat_template"] = ChatTemplate.BuiltinSource,
        };
    }
}

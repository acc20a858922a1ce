using System.Text;
using Minimind.Checkpoint;
using Minimind.Model.Chat.Jinja;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// Writes a trained tokenizer's folder as MiniMind's <c>train_tokenizer.py</c> leaves it, byte for byte:
/// <c>tokenizer.json</c> (HF's serialization, re-dumped by Python with indent 2, the non-special added tokens re-marked
/// <c>"special": false</c>), <c>vocab.json</c> and <c>merges.txt</c> (<c>tokenizer.model.save</c>) and
/// <c>tokenizer_config.json</c> (indent 4, with the chat template). Each file is replaced atomically.
/// </summary>
public static class MiniMindTokenizerFiles
{
    /// <summary>The files <see cref="Write"/> creates, in writing order.</summary>
    public static readonly string[] FileNames = { "tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json" };

    /// <summary>Writes the four files into <paramref name="dir"/> (created when missing). The trained tokens must start
    /// with MiniMind's special and tool/think tokens (<see cref="MiniMindTokenizerSpec.AllSpecialTokens"/>).</summary>
    public static void Write(string dir, TrainedBpe bpe)
    {
        var expected = MiniMindTokenizerSpec.SpecialTokens.Concat(MiniMindTokenizerSpec.AdditionalTokens).ToArray();
        if (!bpe.SpecialTokens.Take(expected.Length).SequenceEqual(expected))
            throw new ArgumentException("the tokenizer was not trained with MiniMind's special tokens first");
        if (File.Exists(dir)) throw new IOException($"--out {dir} is a file; the tokenizer is written into a folder");
        Directory.CreateDirectory(dir);
        var utf8 = new UTF8Encoding(false);
        void Save(string name, string text) => AtomicFile.Write(Path.Combine(dir, name), s => s.Write(utf8.GetBytes(text)));
        Save("tokenizer.json", TokenizerJson(bpe));
        Save("vocab.json", VocabJson(bpe));
        Save("merges.txt", MergesTxt(bpe));
        Save("tokenizer_config.json", TokenizerConfigJson(bpe));
    }

    private static bool IsSpecial(string token) => MiniMindTokenizerSpec.SpecialTokens.Contains(token);

    // json.dump's input: Python dicts keep insertion order; integers are longs
    private static OrderedDictionary<string, object?> Dict(params (string Key, object? Value)[] items)
    {
        var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in items) d.Add(k, v is int i ? (long)i : v);
        return d;
    }

    /// <summary><c>tokenizer.json</c>: ByteLevel pre-tokenizer and decoder, a BPE model, the trainer's special tokens as added tokens.</summary>
    public static string TokenizerJson(TrainedBpe bpe)
    {
        var added = new List<object?>();
        for (int id = 0; id < bpe.SpecialTokens.Count; id++)
            added.Add(Dict(("id", id), ("content", bpe.SpecialTokens[id]), ("single_word", false), ("lstrip", false),
                ("rstrip", false), ("normalized", false), ("special", IsSpecial(bpe.SpecialTokens[id]))));
        static object ByteLevel(bool prefix) => Dict(("type", "ByteLevel"), ("add_prefix_space", prefix), ("trim_offsets", true), ("use_regex", true));
        var merges = bpe.Merges.Select(m => (object?)new List<object?> { bpe.Vocab[m.Left], bpe.Vocab[m.Right] }).ToList();
        var root = Dict(
            ("version", "1.0"),
            ("truncation", null),
            ("padding", null),
            ("added_tokens", added),
            ("normalizer", null),
            ("pre_tokenizer", ByteLevel(false)),
            ("post_processor", null),
            ("decoder", ByteLevel(true)),
            ("model", Dict(("type", "BPE"), ("dropout", null), ("unk_token", null), ("continuing_subword_prefix", null),
                ("end_of_word_suffix", null), ("fuse_unk", false), ("byte_fallback", false), ("ignore_merges", false),
                ("vocab", VocabDict(bpe)), ("merges", merges))));
        return PyFormat.JsonDumps(root, indent: 2);
    }

    private static OrderedDictionary<string, object?> VocabDict(TrainedBpe bpe)
    {
        var vocab = new OrderedDictionary<string, object?>(bpe.Vocab.Count, StringComparer.Ordinal);
        for (int id = 0; id < bpe.Vocab.Count; id++) vocab.Add(bpe.Vocab[id], (long)id);
        return vocab;
    }

    /// <summary><c>vocab.json</c>: the vocabulary in id order, compact (serde_json escapes as Python does).</summary>
    public static string VocabJson(TrainedBpe bpe) => PyFormat.JsonDumps(VocabDict(bpe), itemSep: ",", keySep: ":");

    /// <summary><c>merges.txt</c>: a version line, then "left right" per merge in rank order.</summary>
    public static string MergesTxt(TrainedBpe bpe)
    {
        var sb = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in bpe.Merges) sb.Append(bpe.Vocab[l]).Append(' ').Append(bpe.Vocab[r]).Append('\n');
        return sb.ToString();
    }

    /// <summary><c>tokenizer_config.json</c> as <c>train_tokenizer.py</c> writes it.</summary>
    public static string TokenizerConfigJson(TrainedBpe bpe)
    {
        var decoder = Dict();
        for (int id = 0; id < bpe.SpecialTokens.Count; id++)
            decoder.Add(id.ToString(System.Globalization.CultureInfo.InvariantCulture), Dict(("content", bpe.SpecialTokens[id]), ("lstrip", false),
                ("normalized", false), ("rstrip", false), ("single_word", false), ("special", IsSpecial(bpe.SpecialTokens[id]))));
        var config = Dict(
            ("add_bos_token", false),
            ("add_eos_token", false),
            ("add_prefix_space", false),
            ("added_tokens_decoder", decoder),
            ("additional_special_tokens", MiniMindTokenizerSpec.SpecialTokens.Where(t => t != "<|endoftext|>").Select(t => (object?)t).ToList()),
            ("bos_token", "<|im_start|>"),
            ("clean_up_tokenization_spaces", false),
            ("eos_token", "<|im_end|>"),
            ("legacy", true),
            ("model_max_length", 131072),
            ("pad_token", "<|endoftext|>"),
            ("sp_model_kwargs", Dict()),
            ("spaces_between_special_tokens", false),
            ("unk_token", "<|endoftext|>"),
            ("image_token", "<|image_pad|>"),
            ("audio_token", "<|audio_pad|>"),
            ("video_token", "<|video_pad|>"),
            ("vision_bos_token", "<|vision_start|>"),
            ("vision_eos_token", "<|vision_end|>"),
            ("audio_bos_token", "<|audio_start|>"),
            ("audio_eos_token", "<|audio_end|>"),
            ("chat_template", MiniMindTokenizerSpec.ChatTemplate),
            ("tokenizer_class", "PreTrainedTokenizerFast"));
        return PyFormat.JsonDumps(config, indent: 4);
    }
}

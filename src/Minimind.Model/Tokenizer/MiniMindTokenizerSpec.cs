using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// What MiniMind's <c>trainer/train_tokenizer.py</c> (commit d65ef2c) gives a new tokenizer: its special-token lists,
/// the trainer settings (vocab 6400, ByteLevel's 256-character initial alphabet) and the chat template it writes into
/// <c>tokenizer_config.json</c>.
/// </summary>
public static class MiniMindTokenizerSpec
{
    /// <summary>MiniMind's vocabulary size.</summary>
    public const int VocabSize = 6400;

    /// <summary>MiniMind's <c>SPECIAL_TOKENS_NUM</c>: the specials, the tool/think tokens and buffers up to this count.</summary>
    public const int SpecialTokensNum = 36;

    /// <summary>The tokens that stay special (<c>special_tokens_list</c>); <c>&lt;|endoftext|&gt;</c> is pad and unk.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = new[]
    {
        "<|endoftext|>", "<|im_start|>", "<|im_end|>",
        "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
        "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
        "<|audio_start|>", "<|audio_end|>", "<|audio_pad|>", "<tts_pad>", "<tts_text_bos>", "<tts_text_eod>", "<tts_text_bos_single>",
    };

    /// <summary>The tool and think tokens (<c>additional_tokens_list</c>): trained as special, then re-marked <c>"special": false</c>.</summary>
    public static IReadOnlyList<string> AdditionalTokens { get; } = new[]
    {
        "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>",
    };

    /// <summary>Every token the trainer places first, in id order: specials, tool/think tokens, then
    /// <c>&lt;|buffer1|&gt;</c>.. up to <paramref name="specialTokensNum"/> tokens.</summary>
    public static IReadOnlyList<string> AllSpecialTokens(int specialTokensNum = SpecialTokensNum)
    {
        int fixedCount = SpecialTokens.Count + AdditionalTokens.Count;
        if (specialTokensNum < fixedCount)
            throw new ArgumentException($"special tokens {specialTokensNum}: MiniMind's list has {fixedCount} fixed tokens, so at least {fixedCount}");
        return SpecialTokens.Concat(AdditionalTokens).Concat(Enumerable.Range(1, specialTokensNum - fixedCount).Select(i => $"<|buffer{i}|>")).ToArray();
    }

    /// <summary>ByteLevel's initial alphabet (<c>pre_tokenizers.ByteLevel.alphabet()</c>): the 256 byte characters.</summary>
    public static IReadOnlyCollection<Rune> ByteLevelAlphabet256 { get; } =
        Enumerable.Range(0, 256).Select(b => new Rune(ByteLevelAlphabet.ToChar((byte)b))).ToArray();

    /// <summary>The trainer settings of <c>train_tokenizer.py</c> for a vocabulary of <paramref name="vocabSize"/>.</summary>
    public static BpeTrainerOptions TrainerOptions(int vocabSize = VocabSize, int specialTokensNum = SpecialTokensNum, long minFrequency = 0, int threads = 0) => new()
    {
        VocabSize = vocabSize,
        MinFrequency = minFrequency,
        SpecialTokens = AllSpecialTokens(specialTokensNum),
        InitialAlphabet = ByteLevelAlphabet256,
        Threads = threads,
    };

    /// <summary>The chat template <c>train_tokenizer.py</c> writes (minimind-3's: tools, thinking, <c>open_thinking</c>).</summary>
    public static string ChatTemplate { get; } = ReadTemplate();

    private static string ReadTemplate()
    {
        using var s = typeof(MiniMindTokenizerSpec).Assembly.GetManifestResourceStream("Minimind.Model.Tokenizer.MiniMindChatTemplate.jinja")
            ?? throw new InvalidOperationException("embedded resource MiniMindChatTemplate.jinja is missing");
        using var r = new StreamReader(s, new UTF8Encoding(false));
        return r.ReadToEnd();
    }
}

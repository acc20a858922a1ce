namespace Minimind.Model.Tokenizer;

/// <summary>
/// Text ↔ token ids. <see cref="Encode"/> never adds bos/eos (MiniMind calls its tokenizer with
/// <c>add_special_tokens=False</c> and adds them itself); special tokens written inside the text are recognised.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of ids (largest id + 1).</summary>
    int VocabSize { get; }
    /// <summary>Begin-of-sequence id.</summary>
    int BosId { get; }
    /// <summary>End-of-sequence id.</summary>
    int EosId { get; }
    /// <summary>Padding id (its targets are ignored in pretraining rows).</summary>
    int PadId { get; }

    /// <summary>Token ids of <paramref name="text"/>, without added bos/eos.</summary>
    int[] Encode(string text);

    /// <summary>Text of <paramref name="ids"/>; invalid UTF-8 becomes U+FFFD as in HF <c>tokenizers</c>.</summary>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false);

    /// <summary>
    /// Raw bytes one token contributes to decoded text (empty for an unknown id, or for a special token
    /// when <paramref name="skipSpecialTokens"/>). Concatenated and UTF-8-decoded they give <see cref="Decode"/>.
    /// </summary>
    ReadOnlySpan<byte> TokenBytes(int id, bool skipSpecialTokens = false);

    /// <summary>True for special tokens (those <c>skipSpecialTokens</c> drops).</summary>
    bool IsSpecial(int id);
}

namespace Minimind.Model.Tokenizer;

/// <summary>
/// The settings of <see cref="BpeTrainer"/>, named and defaulted as HuggingFace's <c>BpeTrainer</c> (vocab 30000,
/// min frequency 0, no special tokens, no initial alphabet). MiniMind's <c>train_tokenizer.py</c> sets vocab 6400, its
/// 36 special tokens and the 256-character ByteLevel alphabet (<see cref="MiniMindTokenizerSpec"/>).
/// </summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Unique tokens to reach (specials and alphabet included); training stops there or when no pair is left.</summary>
    public int VocabSize { get; init; } = 30000;
    /// <summary>A pair seen fewer times than this ends training.</summary>
    public long MinFrequency { get; init; }
    /// <summary>Tokens given the first ids, in this order (inside training text they are ordinary text).</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = Array.Empty<string>();
    /// <summary>Characters (code points) that get an id even when the corpus never uses them.</summary>
    public IReadOnlyCollection<System.Text.Rune> InitialAlphabet { get; init; } = Array.Empty<System.Text.Rune>();
    /// <summary>Worker threads for counting pairs and merging (0 = all cores); the result does not depend on it.</summary>
    public int Threads { get; init; }
}

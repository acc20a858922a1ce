namespace Minimind.Model.Tokenizer;

/// <summary>
/// What <see cref="BpeTrainer"/> learned: every token by id and the merges in rank order, as HF's BPE model holds them
/// after training (a pair merged twice — possible when two merges spell the same token — keeps its last rank, since
/// HF collects the merges into a map keyed by pair).
/// </summary>
public sealed class TrainedBpe
{
    /// <summary>Builds the result from the trainer's id → token list and its merge steps in order.</summary>
    public TrainedBpe(IReadOnlyList<string> vocab, IReadOnlyList<(int Left, int Right)> mergeSteps, IReadOnlyList<string> specialTokens, int alphabetSize)
    {
        Vocab = vocab;
        AlphabetSize = alphabetSize;
        SpecialTokens = specialTokens;
        MergeSteps = mergeSteps.Count;
        var lastRank = new Dictionary<(int, int), int>();
        for (int r = 0; r < mergeSteps.Count; r++) lastRank[mergeSteps[r]] = r;
        Merges = Enumerable.Range(0, mergeSteps.Count).Where(r => lastRank[mergeSteps[r]] == r).Select(r => mergeSteps[r]).ToArray();
    }

    /// <summary>Token strings (ByteLevel characters for a ByteLevel corpus) by id.</summary>
    public IReadOnlyList<string> Vocab { get; }
    /// <summary>The merges (left id, right id) in rank order; the merged token is the concatenation of the two strings.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges { get; }
    /// <summary>The special tokens the vocabulary starts with.</summary>
    public IReadOnlyList<string> SpecialTokens { get; }
    /// <summary>Single characters in the vocabulary (after the special tokens).</summary>
    public int AlphabetSize { get; }
    /// <summary>How many merge steps training took (more than <see cref="Merges"/> only when a pair was merged twice).</summary>
    public int MergeSteps { get; }
}

namespace Minimind.Model.Generation;

/// <summary>How a <see cref="RolloutEngine"/> is sized.</summary>
public sealed record RolloutEngineOptions
{
    /// <summary>Most sequences generating at once (the decode batch).</summary>
    public int MaxSequences { get; init; } = 1;

    /// <summary>Tokens per KV-cache page (the unit of KV memory; a multiple of the CPU decode kernel's 64-key block keeps
    /// its blocks whole).</summary>
    public int PageSize { get; init; } = 64;

    /// <summary>Most positions a sequence may reach (position offset + its tokens); null = the model's MaxSeqLen.</summary>
    public int? Context { get; init; }

    /// <summary>KV-cache pages in the pool; null = enough for <see cref="MaxSequences"/> sequences at full context (no
    /// sharing assumed). Fewer pages bound the memory: a request that cannot reserve its worst case is refused.</summary>
    public int? KvPages { get; init; }
}

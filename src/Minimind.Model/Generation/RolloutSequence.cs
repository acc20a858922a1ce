namespace Minimind.Model.Generation;

/// <summary>
/// One sequence held by a <see cref="RolloutEngine"/>: its tokens (prompt and generated), the log-prob of every sampled
/// token, its KV pages and the logits its next token will be sampled from. Read it between steps; the engine changes it.
/// </summary>
public sealed class RolloutSequence
{
    internal readonly List<int> TokenList = new();
    internal readonly List<double> LogProbList = new();
    internal readonly List<int> Pages = new();
    internal float[]? Logits;
    internal int Budget;        // tokens this turn may still generate
    internal int Reserved;      // pages this sequence may still take from the pool (reserved at admission)

    internal RolloutSequence(int id, Sampler sampler, IReadOnlyCollection<int> stopIds, int positionOffset, int promptLength)
    {
        Id = id; Sampler = sampler; StopIds = stopIds; PositionOffset = positionOffset; PromptLength = promptLength;
    }

    /// <summary>The id <see cref="RolloutEngine.Add"/> or <see cref="RolloutEngine.Fork"/> returned.</summary>
    public int Id { get; }
    /// <summary>Its sampling state (options and random stream; <see cref="Sampler.RngState"/> is what a checkpoint saves).</summary>
    public Sampler Sampler { get; }
    /// <summary>Ids that stop it.</summary>
    public IReadOnlyCollection<int> StopIds { get; }
    /// <summary>RoPE position of its first token.</summary>
    public int PositionOffset { get; }
    /// <summary>Tokens of the first prompt (before any generated or extended token).</summary>
    public int PromptLength { get; }
    /// <summary>Every token: prompt, generated, and tokens added by <see cref="RolloutEngine.Extend"/>.</summary>
    public IReadOnlyList<int> Tokens => TokenList;
    /// <summary>For each of <see cref="Tokens"/>: the raw model's log-prob of a sampled token (<see cref="TokenEvent.LogProb"/>),
    /// NaN for a token that was fed, not sampled.</summary>
    public IReadOnlyList<double> LogProbs => LogProbList;
    /// <summary>Tokens whose keys and values are cached (a finished sequence's last sampled token is not fed).</summary>
    public int CachedLength { get; internal set; }
    /// <summary>Tokens generated since the last <see cref="RolloutEngine.Add"/>, <see cref="RolloutEngine.Fork"/> or
    /// <see cref="RolloutEngine.Extend"/>.</summary>
    public int Generated { get; internal set; }
    /// <summary>Why it stopped; <see cref="FinishReason.None"/> while it generates.</summary>
    public FinishReason Finish { get; internal set; }
    /// <summary>True while <see cref="RolloutEngine.Step"/> samples it.</summary>
    public bool IsActive { get; internal set; }
    /// <summary>The logits its next token is sampled from (the raw model's, float32 [vocab]); empty when it has none (after
    /// <see cref="RolloutEngine.Truncate"/>).</summary>
    public ReadOnlySpan<float> NextLogits => Logits;
    /// <summary>The generated tokens of this turn (the last <see cref="Generated"/> tokens).</summary>
    public IEnumerable<int> Completion => TokenList.Skip(TokenList.Count - Generated);
}

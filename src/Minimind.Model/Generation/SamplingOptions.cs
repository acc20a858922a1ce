namespace Minimind.Model.Generation;

/// <summary>How the next token is chosen (MiniMind's generate() knobs).</summary>
public readonly record struct SamplingOptions
{
    /// <summary>Divides the logits; ≤ 0 means greedy.</summary>
    public float Temperature { get; init; }
    /// <summary>Keep only the k most likely tokens (0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set whose probability reaches p (1 = off).</summary>
    public float TopP { get; init; }
    /// <summary>Penalty for tokens already in the sequence (1 = off): positive logits divided, negative multiplied.</summary>
    public float RepetitionPenalty { get; init; }
    /// <summary>Always take the most likely token (ties: lowest id, as torch.argmax).</summary>
    public bool Greedy { get; init; }
    /// <summary>Seed of the sampling RNG.</summary>
    public int Seed { get; init; }

    /// <summary>MiniMind-3's defaults: temperature 0.85, top-k 50, top-p 0.85, no repetition penalty.</summary>
    public static SamplingOptions Default => new() { Temperature = 0.85f, TopK = 50, TopP = 0.85f, RepetitionPenalty = 1f, Seed = 42 };

    /// <summary>Validates ranges; throws naming the option.</summary>
    public void Validate()
    {
        if (float.IsNaN(Temperature)) throw new ArgumentException("--temperature must be a number");
        if (TopK < 0) throw new ArgumentException($"--top-k {TopK} must be >= 0");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"--top-p {TopP} must be in (0, 1]");
        if (!(RepetitionPenalty > 0)) throw new ArgumentException($"--repetition-penalty {RepetitionPenalty} must be > 0");
    }
}

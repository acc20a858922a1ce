using Minimind.Model.Generation;

namespace Minimind.Training.Rl;

/// <summary>
/// <c>--stage grpo</c>'s knobs, MiniMind's train_grpo.py defaults: CISPO, 6 generations per prompt, β 0.1, ε 0.2,
/// ε_high 5.0; rollouts sampled at temperature 0.8 with its model's generate() top-p 0.85 and top-k 50.
/// </summary>
public sealed record GrpoOptions
{
    /// <summary>The loss (<c>--loss-type --beta --epsilon --epsilon-high</c>).</summary>
    public PolicyLossOptions Loss { get; init; } = new();
    /// <summary>Completions sampled per prompt (<c>--num-generations</c>).</summary>
    public int Generations { get; init; } = 6;
    /// <summary>How rollouts sample (the seed is the run's rollout stream, not this record's).</summary>
    public SamplingOptions Sampling { get; init; } = MiniMindRollout;

    /// <summary>How MiniMind's rollout engine samples (train_grpo.py and train_ppo.py): temperature 0.8, its generate()'s top-p 0.85 and top-k 50.</summary>
    public static SamplingOptions MiniMindRollout { get; } = new() { Temperature = 0.8f, TopP = 0.85f, TopK = 50, RepetitionPenalty = 1f };

    /// <summary>Throws an ArgumentException naming the flag of the first invalid value.</summary>
    public void Validate()
    {
        if (Generations < 2) throw new ArgumentException($"--num-generations must be at least 2 (group advantages compare a prompt's completions), got {Generations}");
        if (!(Loss.Beta >= 0) || !double.IsFinite(Loss.Beta)) throw new ArgumentException($"--beta must be 0 or positive, got {Loss.Beta}");
        if (!(Loss.Epsilon > 0 && Loss.Epsilon < 1)) throw new ArgumentException($"--epsilon must be in (0, 1), got {Loss.Epsilon}");
        if (!(Loss.EpsilonHigh > 0) || !double.IsFinite(Loss.EpsilonHigh)) throw new ArgumentException($"--epsilon-high must be positive, got {Loss.EpsilonHigh}");
        Sampling.Validate();
    }
}

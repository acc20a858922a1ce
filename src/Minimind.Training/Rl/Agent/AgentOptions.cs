using Minimind.Model.Generation;

namespace Minimind.Training.Rl.Agent;

/// <summary>
/// <c>--stage agent</c>'s knobs, MiniMind's train_agent.py defaults: CISPO over 4 generations per row (β 0.1, ε 0.2,
/// ε_high 5.0), up to 3 turns (rollout_batch's max_turns), thinking opened for 10 % of the rollouts, the packed
/// training sequence cut to its last 2,500 tokens (<c>--max-total-len</c>); every turn samples at temperature 0.8 with
/// MiniMind's generate() top-p 0.85 and top-k 50.
/// </summary>
public sealed record AgentOptions
{
    /// <summary>The loss, the generations per row and how turns sample (<see cref="GrpoOptions"/>; 4 generations here).</summary>
    public GrpoOptions Policy { get; init; } = new() { Generations = 4 };
    /// <summary>Most model turns per rollout (MiniMind: 3, not a flag).</summary>
    public int MaxTurns { get; init; } = 3;
    /// <summary>Share of rollouts rendered with thinking open (<c>--thinking-ratio</c>), drawn per rollout from the rollout stream.</summary>
    public double ThinkingRatio { get; init; } = 0.1;
    /// <summary>Most tokens of a packed prompt + response (<c>--max-total-len</c>): longer ones keep their end.</summary>
    public int MaxTotalLen { get; init; } = 2500;

    /// <summary>Throws an ArgumentException naming the flag of the first invalid value.</summary>
    public void Validate()
    {
        Policy.Validate();
        if (MaxTurns < 1) throw new ArgumentException($"max turns must be at least 1, got {MaxTurns}");
        if (ThinkingRatio is < 0 or > 1 || double.IsNaN(ThinkingRatio)) throw new ArgumentException($"--thinking-ratio must be in [0, 1], got {ThinkingRatio}");
        if (MaxTotalLen < 2) throw new ArgumentException($"--max-total-len must be at least 2, got {MaxTotalLen}");
    }
}

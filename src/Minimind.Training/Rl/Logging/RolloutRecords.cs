namespace Minimind.Training.Rl.Logging;

/// <summary>
/// One micro-batch's rollouts as the rollout log records them (<see cref="IRolloutSource"/>): its prompts, in batch
/// order, and the loss it was trained with.
/// </summary>
/// <param name="Loss">The micro-batch's loss as trained (policy loss + MoE aux, before the 1/accumulation scaling).</param>
/// <param name="Prompts">The prompts of the micro-batch, in batch order.</param>
public sealed record RolloutBatchRecord(float Loss, IReadOnlyList<RolloutPromptRecord> Prompts);

/// <summary>One prompt of a rollout batch and the completions sampled for it (one line of the rollout log).</summary>
/// <param name="Sample">The prompt's index in the training data.</param>
/// <param name="PromptIds">The prompt's token ids as the model read them (after MiniMind's cut to --max-seq-len).</param>
/// <param name="PromptText"><paramref name="PromptIds"/> decoded, special tokens kept.</param>
/// <param name="Completions">Its completions, in sampling order (GRPO: --num-generations; PPO: one).</param>
public sealed record RolloutPromptRecord(int Sample, int[] PromptIds, string PromptText, IReadOnlyList<RolloutCompletionRecord> Completions);

/// <summary>One sampled completion, with what the loss made of it.</summary>
/// <param name="Ids">The sampled token ids (an eos it stopped at included).</param>
/// <param name="Text"><paramref name="Ids"/> decoded with special tokens skipped: the text the rewards scored.</param>
/// <param name="Mask">Per token of <paramref name="Ids"/>: 1 when it counts in the loss (up to and including the first eos, not an observation), else 0.</param>
/// <param name="Reward">The reward the advantage was computed from.</param>
/// <param name="RewardParts">Its named parts (MiniMind's terms: task, length, think, think_close, repetition_penalty, reward_model; tool terms for agent).</param>
/// <param name="OldLogProbs">Per token of <paramref name="Ids"/>: the log-probability the rollout policy gave it (the loss's old_per_token_logps).</param>
public sealed record RolloutCompletionRecord(int[] Ids, string Text, float[] Mask, float Reward, IReadOnlyList<KeyValuePair<string, double>> RewardParts, float[] OldLogProbs)
{
    /// <summary>The (group-normalised) advantage the loss used, when it is one number per completion (GRPO/CISPO, agent).</summary>
    public float? Advantage { get; init; }
    /// <summary>Agent RL: the [start, end) token spans of <see cref="Ids"/> the model generated, one per turn; null for single-turn stages.</summary>
    public IReadOnlyList<TokenSpan>? Turns { get; init; }
    /// <summary>Agent RL: the [start, end) token spans of <see cref="Ids"/> that are tool observations (masked out of the loss); null for single-turn stages.</summary>
    public IReadOnlyList<TokenSpan>? Observations { get; init; }
}

/// <summary>A half-open range [<paramref name="Start"/>, <paramref name="End"/>) of token positions.</summary>
public readonly record struct TokenSpan(int Start, int End);

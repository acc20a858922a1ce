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
public sealed record RolloutPromptRecord(int Sample, int[] PromptIds, string PromptText, IReadOnlyList<RolloutCompletionRecord> Completions)
{
    /// <summary>Agent RL: the row's ground-truth items (<c>gt</c>), which the reward looks for in the final answer; null otherwise.</summary>
    public IReadOnlyList<Python.PyValue>? GroundTruth { get; init; }
}

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
    /// <summary>Agent RL: this rollout's first-turn prompt ids (rendered with its own thinking draw), which <see cref="Ids"/> follow; null for single-turn stages.</summary>
    public int[]? PromptIds { get; init; }
    /// <summary>Agent RL: the model's decoded output of each turn (special tokens skipped: what the reward read); null for single-turn stages.</summary>
    public IReadOnlyList<string>? TurnTexts { get; init; }
    /// <summary>PPO: per token of <see cref="Ids"/>, the critic's value at rollout time as GAE used it (masked); null for other stages.</summary>
    public float[]? Values { get; init; }
    /// <summary>PPO: per token, the GAE advantage after whitening over the rollout batch's counted tokens (masked); null for other stages.</summary>
    public float[]? TokenAdvantages { get; init; }
    /// <summary>PPO: per token, the value target (GAE advantage before whitening + value); null for other stages.</summary>
    public float[]? Returns { get; init; }
    /// <summary>Agent RL: what MiniMind's debug print shows of the packed row (not written to the log); null for other stages.</summary>
    public AgentDebugView? AgentDebug { get; init; }
}

/// <summary>
/// What train_agent.py's <c>--debug_mode</c> prints of one rollout: its final context (the last rendered conversation,
/// or the last turn's context + output), the packed row's prompt_len and seq_len (after the cut to
/// <c>--max-total-len</c>) and the decoded tokens between them, special tokens kept.
/// </summary>
public sealed record AgentDebugView(string Context, int PromptLen, int SeqLen, string Completion);

/// <summary>A half-open range [<paramref name="Start"/>, <paramref name="End"/>) of token positions.</summary>
public readonly record struct TokenSpan(int Start, int End);

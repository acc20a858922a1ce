using Minimind.Model.Data.Rl;

namespace Minimind.Training.Rl;

/// <summary>One completion's reward and its parts (what the rollout log records).</summary>
/// <param name="Total">The reward the advantages are computed from.</param>
/// <param name="Task">A built-in task's verdict (1 right, 0 wrong), or null for an RLAIF prompt.</param>
/// <param name="Rule">MiniMind's rule terms (length, think, repetition penalty), or null for a built-in task.</param>
/// <param name="ModelScore">The reward model's clipped score, or null without <c>--reward-url</c>.</param>
public readonly record struct RewardParts(float Total, double? Task, RuleReward? Rule, double? ModelScore)
{
    /// <summary>The parts present, by MiniMind's names for them: task; length, think, think_close, repetition_penalty; reward_model.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Named()
    {
        var parts = new List<KeyValuePair<string, double>>();
        if (Task is { } t) parts.Add(new("task", t));
        if (Rule is { } r)
        {
            parts.Add(new("length", r.Length));
            parts.Add(new("think", r.Thinking));
            parts.Add(new("think_close", r.ThinkClose));
            parts.Add(new("repetition_penalty", r.RepetitionPenalty));
        }
        if (ModelScore is { } m) parts.Add(new("reward_model", m));
        return parts;
    }
}

/// <summary>
/// The rewards of a GRPO rollout batch: a built-in task's rule (1 when the checked answer is right, else 0) for the
/// built-in prompts; MiniMind's calculate_rewards for RLAIF prompts — the rule terms of <see cref="RuleReward"/> plus,
/// with a reward model (<c>--reward-url</c>), its score of the answer after any <c>&lt;/think&gt;</c>, clipped to ±3.
/// </summary>
public sealed class GrpoRewards(RewardModelClient? model)
{
    /// <summary>The rewards of <paramref name="completions"/>, <paramref name="generations"/> per prompt in prompt order.</summary>
    public RewardParts[] Score(IReadOnlyList<RlPrompt> prompts, IReadOnlyList<string> completions, int generations)
    {
        if (completions.Count != prompts.Count * generations)
            throw new ArgumentException($"{completions.Count} completions for {prompts.Count} prompts x {generations} generations");
        var parts = new RewardParts[completions.Count];
        var rules = new RuleReward?[completions.Count];
        var requests = new List<RewardRequest>();
        for (int i = 0; i < completions.Count; i++)
        {
            var prompt = prompts[i / generations];
            if (prompt.Task is { } task) { double v = task.Score(completions[i]); parts[i] = new RewardParts((float)v, v, null, null); continue; }
            var rule = RuleReward.Score(completions[i]);
            rules[i] = rule;
            if (model is not null) requests.Add(new RewardRequest(RewardModelClient.PromptMessages(prompt.Text), rule.Answer));
        }
        var scores = model is not null && requests.Count > 0 ? model.Score(requests) : Array.Empty<double>();
        for (int i = 0, k = 0; i < completions.Count; i++)
        {
            if (rules[i] is not { } rule) continue;
            double? score = model is null ? null : scores[k++];
            parts[i] = new RewardParts(rule.Total((float)(score ?? 0)), null, rule, score);
        }
        return parts;
    }
}

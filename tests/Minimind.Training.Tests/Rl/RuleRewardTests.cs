using System.Text.Json;
using Minimind.Training.Rl;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// <see cref="RuleReward"/> against MiniMind's own calculate_rewards (train_grpo.py; train_ppo.py checked equal) and
/// rep_penalty on 1,000 seeded completions — CJK, emoji, combining marks, Python's whitespace edges, think blocks,
/// repeated phrases, lengths at every boundary — with reward-model scores passed through trainer_utils.py's
/// LMForRewardModel.get_score (its ±3 clip): tests/fixtures/rl/rewards.json.gz.
/// </summary>
public class RuleRewardTests
{
    private static readonly JsonDocument Doc = RlFixtures.Load("rewards.json.gz");

    [Fact]
    public void RewardsEqualMiniMindsBitForBit()
    {
        var bad = new List<string>();
        int n = 0;
        foreach (var c in Doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            n++;
            string response = c.GetProperty("response").GetString()!;
            var rule = RuleReward.Score(response);
            float score = (float)RewardModelClient.Clip(c.GetProperty("raw_score").GetDouble());
            float expected = (float)c.GetProperty("reward").GetDouble();
            float got = rule.Total(score);
            if (BitConverter.SingleToInt32Bits(got) != BitConverter.SingleToInt32Bits(expected))
                bad.Add($"case {n - 1}: {got:R} vs MiniMind {expected:R} ({rule})");
            if (rule.Answer != c.GetProperty("rm_response").GetString())
                bad.Add($"case {n - 1}: answer sent to the reward model differs");
        }
        Assert.Equal(1000, n);
        Assert.True(bad.Count == 0, $"{bad.Count} of {n} differ: " + string.Join("\n", bad.Take(10)));
    }

    [Fact]
    public void RepPenaltyEqualsMiniMindsOnWholeTexts()
    {
        var bad = new List<string>();
        int nonzero = 0, i = 0;
        foreach (var c in Doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            double expected = c.GetProperty("rep_penalty_text").GetDouble();
            double got = RuleReward.RepPenalty(c.GetProperty("response").GetString()!);
            if (got != expected) bad.Add($"case {i}: {got:R} vs {expected:R}");
            if (expected != 0) nonzero++;
            i++;
        }
        Assert.True(bad.Count == 0, string.Join("\n", bad.Take(10)));
        Assert.True(nonzero > 100, $"only {nonzero} texts have a repetition penalty: the fixture does not exercise it");
    }

    [Fact]
    public void PromptMessagesAreWhatMiniMindSendsTheRewardModel()
    {
        var root = Doc.RootElement;
        var prompts = root.GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToArray();
        var expected = root.GetProperty("prompt_messages").EnumerateArray().ToArray();
        for (int i = 0; i < prompts.Length; i++)
        {
            if (expected[i].ValueKind == JsonValueKind.Null) continue;
            var got = RewardModelClient.PromptMessages(prompts[i]);
            var want = expected[i].EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToArray();
            Assert.Equal(want, got.Select(m => (m.Role, m.Content)).ToArray());
        }
    }
}

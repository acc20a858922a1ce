namespace Minimind.Training.Rl;

/// <summary>
/// GRPO's group-relative advantage (train_grpo.py, train_agent.py): for each group of <c>num_generations</c>
/// completions of one prompt, (r − group mean) / (population std + 1e-4), in float32 as MiniMind's tensors
/// (the mean and std reduced in float64, then rounded).
/// </summary>
public static class GroupAdvantages
{
    /// <summary>The advantages of <paramref name="rewards"/>, laid out prompt-major (groups of <paramref name="groupSize"/>).</summary>
    public static float[] Compute(ReadOnlySpan<float> rewards, int groupSize)
    {
        if (groupSize < 1 || rewards.Length % groupSize != 0)
            throw new ArgumentException($"{rewards.Length} rewards do not split into groups of {groupSize} (--num-generations)");
        var adv = new float[rewards.Length];
        for (int g = 0; g < rewards.Length; g += groupSize)
        {
            var group = rewards.Slice(g, groupSize);
            double sum = 0;
            foreach (float r in group) sum += r;
            float mean = (float)(sum / groupSize);
            double sq = 0;
            foreach (float r in group) sq += ((double)r - mean) * ((double)r - mean);
            float std = (float)Math.Sqrt(sq / groupSize);
            float denom = std + 1e-4f;
            for (int i = 0; i < groupSize; i++) adv[g + i] = (group[i] - mean) / denom;
        }
        return adv;
    }
}

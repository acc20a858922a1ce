namespace Minimind.Training.Rl;

/// <summary>
/// The tokens of a completion that count in MiniMind's RL losses: every present token up to and including the first
/// eos among them (all present tokens when there is none) — train_grpo.py's and train_agent.py's completion_mask and
/// train_ppo.py's response mask. Tokens after the first eos (MiniMind's generate keeps emitting eos there) do not count.
/// </summary>
public static class CompletionMask
{
    /// <summary>
    /// Mask (1/0) over <paramref name="ids"/> [rows × width]; <paramref name="present"/> (same shape, non-zero = a
    /// generated token; empty = all present) excludes padding or observation tokens from both the mask and the eos search.
    /// </summary>
    public static float[] UpToFirstEos(ReadOnlySpan<int> ids, ReadOnlySpan<float> present, int rows, int width, int eosId)
    {
        Check(ids.Length, rows, width, "ids");
        if (!present.IsEmpty) Check(present.Length, rows, width, "present");
        var mask = new float[rows * width];
        for (int r = 0; r < rows; r++)
        {
            int o = r * width;
            for (int t = 0; t < width; t++)
            {
                bool here = present.IsEmpty || present[o + t] != 0;
                if (!here) continue;
                mask[o + t] = 1f;
                if (ids[o + t] == eosId) break;
            }
        }
        return mask;
    }

    /// <summary>Per row: the index one past the first counted eos, or the count of present tokens when there is none (train_ppo.py's response length, at least 1).</summary>
    public static int[] Lengths(ReadOnlySpan<int> ids, ReadOnlySpan<float> present, int rows, int width, int eosId)
    {
        Check(ids.Length, rows, width, "ids");
        var lengths = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            int o = r * width, count = 0, eos = -1;
            for (int t = 0; t < width; t++)
            {
                if (!present.IsEmpty && present[o + t] == 0) continue;
                count++;
                if (eos < 0 && ids[o + t] == eosId) eos = t;
            }
            lengths[r] = Math.Max(1, eos >= 0 ? eos + 1 : count);
        }
        return lengths;
    }

    internal static void Check(int length, int rows, int width, string what)
    {
        if (rows < 0 || width < 0 || length != rows * width)
            throw new ArgumentException($"{what} holds {length} values, expected {rows} rows × {width}");
    }
}

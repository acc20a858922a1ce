namespace Minimind.Training.Rl.Agent;

/// <summary>
/// One multi-turn rollout as train_agent.py's rollout_single returns it: the first turn's prompt ids, then every
/// later token (the model's, eos and pads dropped, and the re-rendered template's observation tokens between turns),
/// which of them the model generated (1) or the tools/template added (0), and the model tokens' log-probs at sampling
/// time (0 for observation tokens).
/// </summary>
public sealed record AgentRollout(int[] PromptIds, int[] ResponseIds, int[] ResponseMask, float[] OldLogProbs);

/// <summary>
/// train_agent.py's training batch of a step: each rollout packed as prompt + response, cut to the last
/// <c>max_total_len</c> tokens when longer, right-padded with the pad id to the longest; the loss mask (observation
/// tokens and the prompt excluded, then <see cref="CompletionMask"/> to the first eos) and the old log-probs over the
/// width−1 predicted positions.
/// </summary>
public sealed class AgentBatch
{
    /// <summary>Rows.</summary>
    public int Rows { get; }
    /// <summary>Padded length of every row.</summary>
    public int Length { get; }
    /// <summary>Token ids [Rows × Length].</summary>
    public int[] Ids { get; }
    /// <summary>Per row: where its first generated token is (MiniMind's prompt_len), or the row length when none is.</summary>
    public int[] PromptLengths { get; }
    /// <summary>Per row: tokens before the padding.</summary>
    public int[] SequenceLengths { get; }
    /// <summary>Loss mask over the predicted positions [Rows × (Length − 1)]: position t predicts Ids[t + 1].</summary>
    public float[] Mask { get; }
    /// <summary>Old log-probs over the predicted positions [Rows × (Length − 1)].</summary>
    public float[] OldLogProbs { get; }

    private AgentBatch(int rows, int length, int[] ids, int[] promptLengths, int[] seqLengths, float[] mask, float[] old)
    {
        Rows = rows; Length = length; Ids = ids; PromptLengths = promptLengths; SequenceLengths = seqLengths; Mask = mask; OldLogProbs = old;
    }

    /// <summary>Packs <paramref name="rollouts"/>; <paramref name="maxTotalLen"/> is <c>--max-total-len</c> (MiniMind: 2500).</summary>
    public static AgentBatch Pack(IReadOnlyList<AgentRollout> rollouts, int maxTotalLen, int padId, int eosId)
    {
        if (rollouts.Count == 0) throw new ArgumentException("no rollouts to pack");
        if (maxTotalLen < 2) throw new ArgumentException($"--max-total-len {maxTotalLen} is too short (at least 2)");
        var packed = new (int[] Ids, int[] Mask, int PromptLen, float[] Old)[rollouts.Count];
        for (int r = 0; r < rollouts.Count; r++)
        {
            var s = rollouts[r];
            if (s.ResponseMask.Length != s.ResponseIds.Length || s.OldLogProbs.Length != s.ResponseIds.Length)
                throw new ArgumentException($"rollout {r}: {s.ResponseIds.Length} response ids, {s.ResponseMask.Length} mask values, {s.OldLogProbs.Length} log-probs");
            int[] ids = [.. s.PromptIds, .. s.ResponseIds];
            int[] mask = [.. new int[s.PromptIds.Length], .. s.ResponseMask];
            float[] old = [.. new float[Math.Max(s.PromptIds.Length - 1, 0)], .. s.OldLogProbs];
            if (ids.Length > maxTotalLen)
            {
                ids = ids[^maxTotalLen..];
                mask = mask[^maxTotalLen..];
                old = old[^(ids.Length - 1)..];
            }
            int promptLen = Array.IndexOf(mask, 1);
            packed[r] = (ids, mask, promptLen < 0 ? mask.Length : promptLen, old);
        }
        int rows = packed.Length, len = packed.Max(p => p.Ids.Length), w = len - 1;
        if (len < 2) throw new ArgumentException("every packed rollout is shorter than 2 tokens: nothing to predict");
        var allIds = new int[rows * len];
        Array.Fill(allIds, padId);
        var present = new float[rows * w];
        var oldAll = new float[rows * w];
        var shifted = new int[rows * w];
        for (int r = 0; r < rows; r++)
        {
            var p = packed[r];
            p.Ids.CopyTo(allIds, r * len);
            for (int t = 0; t < w; t++)
            {
                shifted[r * w + t] = allIds[r * len + t + 1];
                if (t + 1 < p.Mask.Length) present[r * w + t] = p.Mask[t + 1];
                if (t < p.Old.Length) oldAll[r * w + t] = p.Old[t];
            }
        }
        var lossMask = CompletionMask.UpToFirstEos(shifted, present, rows, w, eosId);
        return new AgentBatch(rows, len, allIds, packed.Select(p => p.PromptLen).ToArray(), packed.Select(p => p.Ids.Length).ToArray(),
            lossMask, oldAll);
    }
}

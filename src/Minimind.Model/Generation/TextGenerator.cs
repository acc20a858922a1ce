namespace Minimind.Model.Generation;

/// <summary>Autoregressive generation with the model's KV cache (or full recomputation, for checking).</summary>
public static class TextGenerator
{
    /// <summary>
    /// Yields up to <paramref name="maxNewTokens"/> ids after <paramref name="prompt"/> (batch 1), stopping
    /// before <paramref name="eosId"/> (pass −1 for no stop) or at the model's context length.
    /// With <paramref name="useCache"/> the prompt is prefilled once and each step feeds one token;
    /// without it every step recomputes the whole sequence.
    /// </summary>
    public static IEnumerable<int> Generate(MiniMindModel model, int[] prompt, int maxNewTokens, Sampler sampler, int eosId,
        bool useCache = true)
    {
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty");
        if (prompt.Length >= model.MaxSeqLen)
            throw new ArgumentException($"the prompt has {prompt.Length} tokens; the context holds {model.MaxSeqLen} (--max-seq-len)");
        var seq = new List<int>(prompt);
        int v = model.Config.VocabSize;
        float[] logits;
        if (useCache)
        {
            model.ResetCache(1);
            logits = model.DecodeStep(prompt, prompt.Length);
        }
        else logits = LastRow(model.Logits(prompt, 1, prompt.Length), v);
        foreach (var id in Continue(model, logits, seq, maxNewTokens, sampler, eosId, useCache)) yield return id;
    }

    /// <summary>
    /// The decode loop after a prefill: samples from <paramref name="logits"/> (the last position's), appends each id to
    /// <paramref name="seq"/> (the whole sequence, for the repetition penalty) and, with the cache, feeds it to the model.
    /// The stop id is neither yielded nor fed.
    /// </summary>
    public static IEnumerable<int> Continue(MiniMindModel model, float[] logits, List<int> seq, int maxNewTokens, Sampler sampler, int eosId,
        bool useCache = true)
    {
        int v = model.Config.VocabSize;
        for (int step = 0; step < maxNewTokens; step++)
        {
            int next = sampler.Next(logits, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seq));
            if (next == eosId) yield break;
            seq.Add(next);
            yield return next;
            if (seq.Count >= model.MaxSeqLen || step == maxNewTokens - 1) yield break;
            logits = useCache ? model.DecodeStep(new[] { next }, 1) : LastRow(model.Logits(seq.ToArray(), 1, seq.Count), v);
        }
    }

    private static float[] LastRow(float[] all, int v) => all.AsSpan(all.Length - v, v).ToArray();
}

namespace Minimind.Model.Generation;

/// <summary>Generation of one sequence (batch 1) on the <see cref="RolloutEngine"/>: what <c>minimind generate</c> runs.</summary>
public static class TextGenerator
{
    /// <summary>
    /// Yields up to <paramref name="maxNewTokens"/> ids after <paramref name="prompt"/>, stopping before
    /// <paramref name="eosId"/> (pass −1 for no stop; the stop id is neither yielded nor fed) or at the model's context
    /// length. The prompt is prefilled once, then each step feeds one token through the KV cache. <paramref name="prefilled"/>
    /// is called when the prompt's forward is done, before the first token is sampled (a timer's prefill mark: each
    /// yielded token has already been fed through the model, so the first yield comes one decode step later).
    /// </summary>
    public static IEnumerable<int> Generate(MiniMindModel model, int[] prompt, int maxNewTokens, Sampler sampler, int eosId, Action? prefilled = null)
    {
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty");
        if (prompt.Length >= model.MaxSeqLen)
            throw new ArgumentException($"the prompt has {prompt.Length} tokens; the context holds {model.MaxSeqLen} (--max-seq-len)");
        if (maxNewTokens <= 0) yield break;
        using var engine = new RolloutEngine(model);
        int id = engine.Add(new GenerationRequest
        {
            Prompt = prompt, Sampler = sampler, MaxNewTokens = maxNewTokens, StopIds = eosId >= 0 ? new[] { eosId } : Array.Empty<int>(),
        });
        prefilled?.Invoke();
        foreach (var e in engine.Run(id))
        {
            if (e.Finish == FinishReason.Stop) yield break;
            yield return e.Token;
        }
    }
}

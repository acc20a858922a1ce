using Minimind.Model.Generation;

namespace Minimind.Model.Evaluation;

/// <summary>What lm-eval's loglikelihood request returns for one continuation, plus how it was computed.</summary>
/// <param name="LogLikelihood">Σ log p(continuation token | everything before it), the log-softmax in float64.</param>
/// <param name="IsGreedy">Every continuation token is its position's argmax (lm-eval's is_greedy).</param>
/// <param name="Truncated">The context was cut from the left to fit the model's context (lm-eval does the same, with a warning).</param>
public readonly record struct ChoiceScore(double LogLikelihood, bool IsGreedy, bool Truncated);

/// <summary>
/// Log-likelihoods of a question's continuations, computed as lm-evaluation-harness's HFLM computes them for a causal
/// model: the input is <c>(context + continuation)[-(max_length + 1):][:-1]</c> (cut from the left when too long), the
/// continuation's tokens are scored by the last positions' log-softmax. With <see cref="ShareContext"/> the context
/// shared by all choices goes through the model once, into the KV cache, and every choice's remaining tokens are
/// teacher-forced through forks of it, each whole continuation in one forward (<see cref="RolloutEngine.Force"/>); otherwise each choice's whole sequence is
/// computed, the choices side by side in one batch (the naive way, kept for comparison and for truncated items).
/// </summary>
public sealed class ChoiceScorer : IDisposable
{
    private readonly MiniMindModel _model;
    private RolloutEngine? _engine;

    /// <summary>A scorer on <paramref name="model"/>, whose MaxSeqLen is lm-eval's max_length and whose MaxBatch bounds the choices per forward.</summary>
    public ChoiceScorer(MiniMindModel model, bool shareContext = true)
    {
        _model = model;
        ShareContext = shareContext;
    }

    /// <summary>Compute the shared context once (true) or every choice's full sequence (false).</summary>
    public bool ShareContext { get; }

    /// <summary>lm-eval's max_length: the longest input the model sees.</summary>
    public int MaxLength => _model.MaxSeqLen;

    /// <summary>Scores each (context, continuation) pair of one question.</summary>
    public ChoiceScore[] Score((int[] Context, int[] Continuation)[] pairs)
    {
        foreach (var (ctx, cont) in pairs)
            if (ctx.Length == 0)
                throw new InvalidDataException("the context encodes to no tokens (it is only whitespace, which moves to the choices); lm-eval refuses it too");
            else if (cont.Length > MaxLength)
                throw new InvalidDataException($"a choice has {cont.Length} tokens, more than the model's context of {MaxLength} (--max-seq-len)");
        var scores = new ChoiceScore[pairs.Length];
        // The engine stops a sequence that fills its context, so a shared item leaves one position free (others take the full path).
        bool shareable = ShareContext && pairs.All(p => p.Context.AsSpan().SequenceEqual(pairs[0].Context) && p.Context.Length + p.Continuation.Length <= MaxLength);
        if (shareable) ScoreShared(pairs, scores);
        else
            for (int start = 0; start < pairs.Length; start += _model.MaxBatch)
                ScoreFull(pairs, start, Math.Min(_model.MaxBatch, pairs.Length - start), scores);
        return scores;
    }

    // One prefill of the context into the rollout engine per batch of choices; the first continuation token of every
    // choice is scored from its last position, the rest by forks of it (sharing its cached pages) teacher-forced through
    // all but their last token in one forward (RolloutEngine.Force); the last is scored from the fork's next-token logits.
    private void ScoreShared((int[] Context, int[] Continuation)[] pairs, ChoiceScore[] scores)
    {
        var ctx = pairs[0].Context;
        var engine = _engine ??= new RolloutEngine(_model, new RolloutEngineOptions { MaxSequences = _model.MaxBatch + 1, Context = _model.MaxSeqLen });
        var greedySampler = new SamplingOptions { Greedy = true, TopP = 1f, RepetitionPenalty = 1f };
        int v = _model.Config.VocabSize;
        try
        {
            for (int start = 0; start < pairs.Length; start += _model.MaxBatch)
            {
                var part = Enumerable.Range(start, Math.Min(_model.MaxBatch, pairs.Length - start)).ToArray();
                int prefix = engine.Add(new GenerationRequest { Prompt = ctx, Sampler = new Sampler(greedySampler), MaxNewTokens = 1 });
                var longer = part.Where(i => pairs[i].Continuation.Length > 1).ToArray();
                foreach (int i in part.Except(longer))
                {
                    var (lp, top) = TokenLogProb(engine[prefix].NextLogits, pairs[i].Continuation[0]);
                    scores[i] = new ChoiceScore(lp, top, false);
                }
                // a fork's budget of the continuation's length leaves it active after all but its last token
                var forks = longer.Select(i => engine.Fork(prefix, new Sampler(greedySampler), pairs[i].Continuation.Length)).ToArray();
                engine.Release(prefix);
                var forced = engine.Force(forks.Select((f, b) => (f, pairs[longer[b]].Continuation[..^1])).ToArray());
                for (int b = 0; b < longer.Length; b++)
                {
                    var cont = pairs[longer[b]].Continuation;
                    double sum = 0;
                    bool greedy = true;
                    for (int j = 0; j < cont.Length; j++)
                    {
                        var row = j + 1 < cont.Length ? forced[b].Logits.AsSpan(j * v, v) : engine[forks[b]].NextLogits;
                        var (lp, top) = TokenLogProb(row, cont[j]);
                        sum += lp; greedy &= top;
                    }
                    scores[longer[b]] = new ChoiceScore(sum, greedy, false);
                    engine.Release(forks[b]);
                }
            }
        }
        finally
        {
            foreach (int id in engine.Sequences.Select(q => q.Id).ToList()) engine.Release(id);
        }
    }

    private void ScoreFull((int[] Context, int[] Continuation)[] pairs, int start, int count, ChoiceScore[] scores)
    {
        int v = _model.Config.VocabSize;
        var windows = new int[count][];
        var truncated = new bool[count];
        for (int b = 0; b < count; b++)
        {
            var (ctx, cont) = pairs[start + b];
            var whole = ctx.Concat(cont).ToArray();
            truncated[b] = whole.Length > MaxLength + 1;
            windows[b] = whole[Math.Max(0, whole.Length - (MaxLength + 1))..^1];
        }
        int len = windows.Max(w => w.Length);
        var inputs = new int[count * len];
        for (int b = 0; b < count; b++) windows[b].CopyTo(inputs, b * len);
        var logits = _model.Logits(inputs, count, len);
        for (int b = 0; b < count; b++)
        {
            var cont = pairs[start + b].Continuation;
            int first = windows[b].Length - cont.Length;
            double sum = 0;
            bool greedy = true;
            for (int j = 0; j < cont.Length; j++)
            {
                var (lp, top) = TokenLogProb(logits.AsSpan((b * len + first + j) * v, v), cont[j]);
                sum += lp; greedy &= top;
            }
            scores[start + b] = new ChoiceScore(sum, greedy, truncated[b]);
        }
    }

    /// <summary>log softmax(<paramref name="logits"/>)[<paramref name="target"/>] in float64, and whether the target is the
    /// argmax (the first maximum, as torch.argmax).</summary>
    public static (double LogProb, bool IsArgmax) TokenLogProb(ReadOnlySpan<float> logits, int target) =>
        (Sampler.LogProb(logits, target), Sampler.ArgMax(logits) == target);

    /// <summary>Frees the shared-context path's KV pool.</summary>
    public void Dispose() => _engine?.Dispose();
}

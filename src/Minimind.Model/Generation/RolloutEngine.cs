namespace Minimind.Model.Generation;

/// <summary>
/// The one generation engine: batched, continuously batched decoding over a paged KV cache, for RL rollouts, serving
/// and the <c>generate</c>/<c>chat</c> commands.
/// <list type="bullet">
/// <item><see cref="Add"/> prefills a prompt (one forward of its tokens) into a new sequence; <see cref="Fork"/> starts
/// another sequence from one that exists, sharing its cached pages (G samples of one prompt store and compute the
/// prompt once).</item>
/// <item><see cref="Step"/> samples one token for every active sequence, each from its own logits with its own
/// <see cref="Sampler"/>, stops the sequences that finish (stop id, token budget, context), and feeds the rest through
/// the model in one decode forward: the batch is whatever is active. Between steps sequences may be added, forked,
/// cancelled (<see cref="Cancel"/>), released (<see cref="Release"/>), or, once stopped, extended with more tokens
/// (<see cref="Extend"/>, after an optional <see cref="Truncate"/>: a chat's next turn reuses the cached prefix).</item>
/// <item><see cref="Force"/> appends known tokens to active sequences in one forward and returns every token's
/// log-prob (scoring continuations, as eval's multiple-choice tasks do, without a step per token).</item>
/// <item>Batch invariance: every op computes a sequence's rows exactly as it would alone (the matmul rows keep their bits
/// whatever the row count, decode attention reads only the sequence's own pages), and each sequence draws only from its
/// own random stream, so a request's tokens do not depend on what else runs, when it joined, or in which order.</item>
/// <item>Memory: a sequence reserves, when admitted, the pages its worst case needs (prompt + budget, up to the context),
/// so a running sequence never finds the pool empty; a request that does not fit is refused (see <see cref="CanAdd"/>).</item>
/// </list>
/// Not thread-safe: one thread drives it (a server's batching loop).
/// </summary>
public sealed class RolloutEngine : IDisposable
{
    private readonly MiniMindModel _model;
    private readonly PagedKvCache _cache;
    private readonly SortedDictionary<int, RolloutSequence> _sequences = new();
    private int _nextId, _reserved;
    private float[] _logits = Array.Empty<float>();

    /// <summary>Creates the engine over <paramref name="model"/>'s weights (shared, not copied) and allocates its KV pool.</summary>
    public RolloutEngine(MiniMindModel model, RolloutEngineOptions? options = null)
    {
        options ??= new RolloutEngineOptions();
        _model = model;
        Context = options.Context ?? model.MaxSeqLen;
        if (Context <= 0 || Context > model.Config.MaxSeqLen)
            throw new ArgumentException($"engine context {Context} outside [1, {model.Config.MaxSeqLen}] (the model's --max-seq-len)");
        MaxSequences = options.MaxSequences;
        if (MaxSequences <= 0) throw new ArgumentException($"max sequences must be positive, got {MaxSequences}");
        if (MaxSequences > (long)model.MaxBatch * model.MaxSeqLen)
            throw new ArgumentException($"{MaxSequences} sequences exceed the model's activation rows ({model.MaxBatch} x {model.MaxSeqLen})");
        if (Context > (long)model.MaxBatch * model.MaxSeqLen)
            throw new ArgumentException($"a prompt of the context ({Context} tokens) exceeds the model's activation rows ({model.MaxBatch} x {model.MaxSeqLen})");
        int perSeq = (Context + options.PageSize - 1) / Math.Max(1, options.PageSize);
        _cache = new PagedKvCache(model.Backend, model.Config, options.KvPages ?? MaxSequences * perSeq, options.PageSize, Context, MaxSequences);
    }

    /// <summary>Most positions a sequence may reach: position offset + its tokens.</summary>
    public int Context { get; }
    /// <summary>Most sequences generating at once.</summary>
    public int MaxSequences { get; }
    /// <summary>The KV pool.</summary>
    public PagedKvCache Cache => _cache;
    /// <summary>Sequences being sampled by <see cref="Step"/>.</summary>
    public int ActiveCount => _sequences.Values.Count(s => s.IsActive);
    /// <summary>Pages neither held nor reserved: what a new request can get.</summary>
    public int AvailablePages => _cache.FreePages - _reserved;

    /// <summary>A held sequence (active or stopped, until <see cref="Release"/>).</summary>
    public RolloutSequence this[int id] =>
        _sequences.TryGetValue(id, out var s) ? s : throw new KeyNotFoundException($"no sequence {id} in the engine (released, or never added)");

    /// <summary>The held sequences in id order.</summary>
    public IEnumerable<RolloutSequence> Sequences => _sequences.Values;

    /// <summary>Whether a prompt of <paramref name="promptTokens"/> tokens with a budget of <paramref name="maxNewTokens"/>
    /// would be admitted now (a free decode slot and its worst-case pages).</summary>
    public bool CanAdd(int promptTokens, int maxNewTokens, int positionOffset = 0) =>
        ActiveCount < MaxSequences && PagesFor(positionOffset, 0, promptTokens, maxNewTokens) <= AvailablePages;

    /// <summary>Prefills <paramref name="request"/>'s prompt into a new active sequence and returns its id; the next
    /// <see cref="Step"/> samples its first token. Throws when the prompt does not fit the context, or the engine is full.</summary>
    public int Add(GenerationRequest request)
    {
        var prompt = request.Prompt ?? throw new ArgumentException("the request has no prompt");
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty");
        if (request.PositionOffset < 0) throw new ArgumentException($"position offset must be >= 0, got {request.PositionOffset}");
        if ((long)request.PositionOffset + prompt.Length > Context)
            throw new ArgumentException(request.PositionOffset == 0
                ? $"the prompt has {prompt.Length} tokens; the context holds {Context} (--max-seq-len)"
                : $"the prompt has {prompt.Length} tokens at position {request.PositionOffset}; the context holds {Context} (--max-seq-len)");
        if (request.MaxNewTokens <= 0) throw new ArgumentException($"max new tokens must be at least 1, got {request.MaxNewTokens}");
        int pages = Admit(PagesFor(request.PositionOffset, 0, prompt.Length, request.MaxNewTokens), $"a prompt of {prompt.Length} tokens");
        var s = new RolloutSequence(_nextId++, request.Sampler, request.StopIds, request.PositionOffset, prompt.Length);
        foreach (int t in prompt) { s.TokenList.Add(t); s.LogProbList.Add(double.NaN); }
        Start(s, request.MaxNewTokens, pages);
        _sequences.Add(s.Id, s);
        Feed(new[] { s });
        return s.Id;
    }

    /// <summary>
    /// A new active sequence continuing <paramref name="parent"/> as it stands: the same tokens, cached rows (its pages are
    /// shared, and the partly filled last page is copied by whichever sequence writes to it first), next-token logits,
    /// stop ids and position offset, with its own <paramref name="sampler"/> and a budget of <paramref name="maxNewTokens"/>
    /// (null: the parent's remaining budget). The parent must be active. G samples of one prompt: Add once, Fork G − 1 times.
    /// </summary>
    public int Fork(int parent, Sampler sampler, int? maxNewTokens = null)
    {
        var p = this[parent];
        if (!p.IsActive || p.Logits is null) throw new InvalidOperationException($"sequence {parent} is not active; only an active sequence can be forked");
        int budget = maxNewTokens ?? p.Budget;
        if (budget <= 0) throw new ArgumentException($"max new tokens must be at least 1, got {budget}");
        // The partly filled last page becomes shared, and whoever writes to it first copies it.
        bool tail = p.CachedLength % _cache.PageSize != 0;
        int pages = Admit(PagesFor(p.PositionOffset, p.CachedLength, 0, budget) + (tail ? 1 : 0), $"a fork of sequence {parent}");
        var s = new RolloutSequence(_nextId++, sampler, p.StopIds, p.PositionOffset, p.PromptLength);
        s.TokenList.AddRange(p.TokenList);
        s.LogProbList.AddRange(p.LogProbList);
        foreach (int page in p.Pages) { _cache.Share(page); s.Pages.Add(page); }
        s.CachedLength = p.CachedLength;
        s.Logits = (float[])p.Logits.Clone();
        // k forks of a shared tail make k + 1 holders and at most k copies (the last holder writes in place): one per child.
        Start(s, budget, pages);
        _sequences.Add(s.Id, s);
        return s.Id;
    }

    /// <summary>
    /// One decode step: every active sequence samples one token (in id order, each from its own logits and stream),
    /// sequences that finish stop (the token is returned, not fed), and the others are fed through the model together.
    /// Returns one event per sequence that was active. A sequence listed in <paramref name="forced"/> takes the given
    /// token instead of sampling (no random draw; its log-prob is still reported): teacher forcing, e.g. the engine's
    /// log-probs of a completion that already exists.
    /// </summary>
    public IReadOnlyList<TokenEvent> Step(IReadOnlyDictionary<int, int>? forced = null)
    {
        var events = new List<TokenEvent>();
        var feed = new List<RolloutSequence>();
        foreach (var s in _sequences.Values)
        {
            if (!s.IsActive) continue;
            var logits = s.Logits!;
            int token = forced is not null && forced.TryGetValue(s.Id, out int f) ? CheckToken(f)
                : s.Sampler.Next(Scratch(logits), System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.TokenList));
            double logProb = Sampler.LogProb(logits, token);
            s.TokenList.Add(token); s.LogProbList.Add(logProb);
            s.Generated++; s.Budget--;
            var finish = s.StopIds.Contains(token) ? FinishReason.Stop
                : s.Budget == 0 ? FinishReason.Length
                : s.PositionOffset + s.TokenList.Count >= Context ? FinishReason.Context
                : FinishReason.None;
            events.Add(new TokenEvent(s.Id, token, logProb, finish));
            if (finish == FinishReason.None) feed.Add(s);
            else Stop(s, finish);
        }
        if (feed.Count > 0) Feed(feed);
        return events;
    }

    /// <summary>
    /// Teacher forcing in one forward: appends each run's known tokens to its active sequence and feeds them all at once,
    /// as K forced <see cref="Step"/>s would one token at a time (the same cached rows, tokens, log-probs and next-token
    /// logits afterwards, bit for bit on the CPU and ILGPU kernels: RolloutForceTests), and returns every token's scoring logits and
    /// log-prob. Runs with the same token count share one forward; a run must leave its sequence active (fewer tokens
    /// than its remaining budget, and room after them in the context). Stop ids are not checked: the tokens are given.
    /// </summary>
    public IReadOnlyList<ForcedTokens> Force(IReadOnlyList<(int Id, int[] Tokens)> runs)
    {
        var seen = new HashSet<int>();
        foreach (var (id, tokens) in runs)
        {
            var s = this[id];
            if (!seen.Add(id)) throw new ArgumentException($"sequence {id} is forced twice in one call");
            if (!s.IsActive || s.Logits is null) throw new InvalidOperationException($"sequence {id} is not active; only an active sequence can be forced");
            if (tokens is null || tokens.Length == 0) throw new ArgumentException($"nothing to force into sequence {id}");
            foreach (int t in tokens) CheckToken(t);
            if (tokens.Length >= s.Budget)
                throw new ArgumentException($"{tokens.Length} forced tokens would use sequence {id}'s remaining budget of {s.Budget}; it must stay active (fork or add it with a larger budget)");
            if ((long)s.PositionOffset + s.TokenList.Count + tokens.Length >= Context)
                throw new ArgumentException($"sequence {id} would hold {s.TokenList.Count + tokens.Length} tokens at position {s.PositionOffset}; the context holds {Context} and must keep one position free (--max-seq-len)");
        }
        int v = _model.Config.VocabSize, maxRows = _model.MaxBatch * _model.MaxSeqLen;
        var results = new ForcedTokens?[runs.Count];
        foreach (var group in Enumerable.Range(0, runs.Count).GroupBy(r => runs[r].Tokens.Length))
        {
            int k = group.Key;
            // as many sequences per forward as the model's activation rows hold
            foreach (var chunk in group.Chunk(Math.Max(1, maxRows / k)))
            {
                var batch = new RolloutSequence[chunk.Length];
                var scoring = new float[chunk.Length][];
                for (int c = 0; c < chunk.Length; c++)
                {
                    var (id, tokens) = runs[chunk[c]];
                    var s = batch[c] = this[id];
                    scoring[c] = new float[k * v];
                    s.Logits!.CopyTo(scoring[c], 0);
                    foreach (int t in tokens) s.TokenList.Add(t);
                    s.Generated += k; s.Budget -= k;
                }
                var rows = Feed(batch, everyRow: true);
                for (int c = 0; c < chunk.Length; c++)
                {
                    var (id, tokens) = runs[chunk[c]];
                    // the forward's rows 0..k-2 score tokens 1..k-1; its last row is the sequence's new next-token logits
                    rows.Slice(c * k * v, (k - 1) * v).CopyTo(scoring[c].AsSpan(v));
                    var logProbs = new double[k];
                    for (int j = 0; j < k; j++)
                    {
                        logProbs[j] = Sampler.LogProb(scoring[c].AsSpan(j * v, v), tokens[j]);
                        batch[c].LogProbList.Add(logProbs[j]);
                    }
                    results[chunk[c]] = new ForcedTokens(id, scoring[c], logProbs);
                }
            }
        }
        return results!;
    }

    /// <summary>Steps until sequence <paramref name="id"/> stops, yielding its events as they come (the other active
    /// sequences advance too).</summary>
    public IEnumerable<TokenEvent> Run(int id)
    {
        while (this[id].IsActive)
            foreach (var e in Step())
                if (e.Sequence == id) yield return e;
    }

    /// <summary>Steps until no sequence is active.</summary>
    public void RunAll()
    {
        while (_sequences.Values.Any(s => s.IsActive)) Step();
    }

    /// <summary>Stops an active sequence between steps (<see cref="FinishReason.Cancelled"/>); it stays held (its tokens
    /// readable) until <see cref="Release"/>. Does nothing to a stopped sequence.</summary>
    public void Cancel(int id)
    {
        var s = this[id];
        if (s.IsActive) Stop(s, FinishReason.Cancelled);
    }

    /// <summary>Forgets a sequence (stopping it first) and returns its pages to the pool.</summary>
    public void Release(int id)
    {
        var s = this[id];
        if (s.IsActive) Stop(s, FinishReason.Cancelled);
        foreach (int page in s.Pages) _cache.Release(page);
        s.Pages.Clear();
        _sequences.Remove(id);
    }

    /// <summary>Keeps the first <paramref name="length"/> tokens of a stopped sequence and forgets the rest (their pages go
    /// back to the pool): a chat turn whose new rendering shares that prefix continues from there with <see cref="Extend"/>.</summary>
    public void Truncate(int id, int length)
    {
        var s = this[id];
        if (s.IsActive) throw new InvalidOperationException($"sequence {id} is generating; cancel it before truncating");
        if (length < 0 || length > s.TokenList.Count)
            throw new ArgumentOutOfRangeException(nameof(length), $"sequence {id} holds {s.TokenList.Count} tokens, cannot keep {length}");
        s.TokenList.RemoveRange(length, s.TokenList.Count - length);
        s.LogProbList.RemoveRange(length, s.LogProbList.Count - length);
        s.CachedLength = Math.Min(s.CachedLength, length);
        int keepPages = (s.CachedLength + _cache.PageSize - 1) / _cache.PageSize;
        for (int i = keepPages; i < s.Pages.Count; i++) _cache.Release(s.Pages[i]);
        s.Pages.RemoveRange(keepPages, s.Pages.Count - keepPages);
        s.Logits = null;
        s.Generated = 0;
    }

    /// <summary>
    /// Continues a stopped sequence: appends <paramref name="tokens"/> (at least one), feeds every token not yet cached
    /// (a stopped sequence's last sampled token included) in one prefill, and makes it active again with a budget of
    /// <paramref name="maxNewTokens"/>. Its sampler's stream continues where it stopped.
    /// </summary>
    public void Extend(int id, ReadOnlySpan<int> tokens, int maxNewTokens)
    {
        var s = this[id];
        if (s.IsActive) throw new InvalidOperationException($"sequence {id} is generating; only a stopped sequence can be extended");
        if (tokens.Length == 0) throw new ArgumentException("nothing to extend with");
        if (maxNewTokens <= 0) throw new ArgumentException($"max new tokens must be at least 1, got {maxNewTokens}");
        if ((long)s.PositionOffset + s.TokenList.Count + tokens.Length > Context)
            throw new ArgumentException($"the sequence would hold {s.TokenList.Count + tokens.Length} tokens; the context holds {Context} (--max-seq-len)");
        int uncached = s.TokenList.Count - s.CachedLength + tokens.Length;
        int pages = Admit(PagesFor(s.PositionOffset, s.CachedLength, uncached, maxNewTokens) + (SharedTail(s) ? 1 : 0), $"extending sequence {id}");
        foreach (int t in tokens) { s.TokenList.Add(t); s.LogProbList.Add(double.NaN); }
        s.Finish = FinishReason.None;
        Start(s, maxNewTokens, pages);
        Feed(new[] { s });
    }

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();

    // ---- internals --------------------------------------------------------------------------------

    private float[] _scratch = Array.Empty<float>();

    private int CheckToken(int id) => (uint)id < (uint)_model.Config.VocabSize ? id
        : throw new ArgumentException($"forced token {id} is outside the vocabulary [0, {_model.Config.VocabSize})");

    // The sampler modifies the logits it is given: it gets a copy, the raw row stays for the log-prob.
    private float[] Scratch(float[] logits)
    {
        if (_scratch.Length != logits.Length) _scratch = new float[logits.Length];
        logits.CopyTo(_scratch, 0);
        return _scratch;
    }

    // Pages a sequence with `cached` rows, `uncached` tokens to feed and `budget` tokens to generate may still need: up to
    // the rows its last fed token can reach (the last sampled token is never fed), capped by the context.
    private int PagesFor(int offset, int cached, int uncached, int budget)
    {
        long rows = Math.Min((long)cached + uncached + budget - 1, Context - offset);
        long have = (cached + _cache.PageSize - 1) / _cache.PageSize;
        return (int)Math.Max(0, (rows + _cache.PageSize - 1) / _cache.PageSize - have);
    }

    // A sequence whose partly filled last page others hold too will copy it before its next write.
    private bool SharedTail(RolloutSequence s) =>
        s.CachedLength % _cache.PageSize != 0 && s.Pages.Count > 0 && _cache.IsShared(s.Pages[^1]);

    // Refuses a request that cannot get a decode slot or its worst-case pages; returns the pages to reserve.
    private int Admit(int pages, string what)
    {
        if (ActiveCount >= MaxSequences)
            throw new InvalidOperationException($"the engine already runs {MaxSequences} sequences; wait for one to finish (or raise the batch size)");
        if (pages > AvailablePages)
            throw new InvalidOperationException(
                $"the KV cache cannot hold {what}: it needs up to {pages} pages of {_cache.PageSize} tokens, {AvailablePages} of {_cache.Pages} are free " +
                "(lower the new-token budget, wait for running sequences, or give the engine more KV pages)");
        return pages;
    }

    // Makes a sequence active with a budget and the pages Admit reserved for it.
    private void Start(RolloutSequence s, int budget, int reservedPages)
    {
        s.Budget = budget;
        s.Generated = 0;
        s.IsActive = true;
        s.Reserved = reservedPages;
        _reserved += reservedPages;
    }

    private void Stop(RolloutSequence s, FinishReason finish)
    {
        s.Finish = finish;
        s.IsActive = false;
        _reserved -= s.Reserved;
        s.Reserved = 0;
    }

    // Makes room for rows [cached, cached + n) of a sequence: a new page at each page boundary, a private copy of a shared
    // partly filled page. Both come out of the sequence's reservation.
    private void Reserve(RolloutSequence s, int n)
    {
        int ps = _cache.PageSize;
        for (int j = s.CachedLength; j < s.CachedLength + n; j++)
        {
            int i = j / ps;
            if (i == s.Pages.Count) s.Pages.Add(Take(s, _cache.Allocate()));
            else if (j % ps != 0 && j == s.CachedLength && _cache.IsShared(s.Pages[i])) s.Pages[i] = Take(s, _cache.CopyOnWrite(s.Pages[i], j % ps));
        }
    }

    private int Take(RolloutSequence s, int page)
    {
        if (s.Reserved > 0) { s.Reserved--; _reserved--; }
        return page;
    }

    // Feeds every uncached token of the given sequences (the same count for each) through the model in one forward and
    // stores each sequence's next-token logits; with everyRow returns the logits of every fed token [batch·n, V].
    private ReadOnlySpan<float> Feed(IReadOnlyList<RolloutSequence> batch, bool everyRow = false)
    {
        int n = batch[0].TokenList.Count - batch[0].CachedLength, v = _model.Config.VocabSize;
        var ids = new int[batch.Count * n];
        var starts = new int[batch.Count];
        var pastLens = new int[batch.Count];
        var pages = new IReadOnlyList<int>[batch.Count];
        for (int b = 0; b < batch.Count; b++)
        {
            var s = batch[b];
            if (s.TokenList.Count - s.CachedLength != n) throw new InvalidOperationException("a decode batch feeds the same number of tokens per sequence");
            Reserve(s, n);
            for (int i = 0; i < n; i++) ids[b * n + i] = s.TokenList[s.CachedLength + i];
            starts[b] = s.PositionOffset + s.CachedLength;
            pastLens[b] = s.CachedLength;
            pages[b] = s.Pages;
        }
        var kv = _cache.Bind(pages, pastLens);
        int outRows = everyRow ? batch.Count * n : batch.Count;
        if (_logits.Length < outRows * v) _logits = new float[outRows * v];
        _model.DecodeForward(_cache, kv, ids, batch.Count, n, starts, _logits, everyRow);
        for (int b = 0; b < batch.Count; b++)
        {
            var s = batch[b];
            s.CachedLength += n;
            s.Logits ??= new float[v];
            Array.Copy(_logits, (everyRow ? b * n + n - 1 : b) * v, s.Logits, 0, v);
        }
        return _logits.AsSpan(0, outRows * v);
    }
}

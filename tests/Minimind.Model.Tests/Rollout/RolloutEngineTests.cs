using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Rollout;

/// <summary>
/// The rollout engine's promises: a sequence's tokens and log-probs are bit-identical whether it runs alone, in a batch,
/// or joins a running batch mid-way (batch invariance); its random stream is its own and resumes from one saved integer;
/// forks share the prompt's pages yet sample as separate requests; every stop reason, cancel, release and the KV budget.
/// </summary>
public sealed class RolloutEngineTests
{
    /// <summary>The engine tests' small minimind-3 MoE model.</summary>
    internal static ModelConfig Config => ModelConfig.Preset("minimind3") with
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 300, MaxSeqLen = 160, UseMoe = true,
    };

    private static MiniMindModel NewModel(IBackend be, int seed = 5)
    {
        var m = MiniMindModel.Create(Config, be, 1, Config.MaxSeqLen);
        m.InitRandom(seed);
        return m;
    }

    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };
    private static SamplingOptions Grpo(int seed) => new() { Temperature = 0.8f, TopP = 0.85f, TopK = 50, RepetitionPenalty = 1, Seed = seed };

    // Twelve different requests: prompt lengths 1..70 (past a 64-key block and several pages), greedy and sampled, one with a
    // repetition penalty, one at a position offset (a left-padded row).
    private static GenerationRequest Request(int i, int maxNew = 20)
    {
        var rng = new Random(100 + i);
        var prompt = Enumerable.Range(0, 1 + i * 6).Select(_ => rng.Next(3, 300)).ToArray();
        var options = i % 3 == 0 ? Greedy : Grpo(i) with { RepetitionPenalty = i == 4 ? 1.3f : 1f };
        return new GenerationRequest { Prompt = prompt, Sampler = new Sampler(options), MaxNewTokens = maxNew, PositionOffset = i == 5 ? 9 : 0 };
    }

    private static GenerationRequest Fresh(GenerationRequest r) => new()
    {
        Prompt = r.Prompt, Sampler = new Sampler(r.Sampler.Options), MaxNewTokens = r.MaxNewTokens, StopIds = r.StopIds, PositionOffset = r.PositionOffset,
    };

    private static (int[] Tokens, long[] LogProbBits) Result(RolloutSequence s) =>
        (s.Tokens.ToArray(), s.LogProbs.Select(BitConverter.DoubleToInt64Bits).ToArray());

    private static void SameResult((int[] Tokens, long[] LogProbBits) want, RolloutSequence got, string what)
    {
        var (t, l) = Result(got);
        Assert.True(want.Tokens.SequenceEqual(t), $"{what}: tokens differ\n  alone: {string.Join(' ', want.Tokens)}\n  here:  {string.Join(' ', t)}");
        Assert.True(want.LogProbBits.SequenceEqual(l), $"{what}: log-probs differ in their bits");
    }

    // Each request in an engine of its own: the reference a batched run must reproduce bit for bit.
    private static List<(int[] Tokens, long[] LogProbBits)> Alone(MiniMindModel model, int n, int pageSize = 64)
    {
        var results = new List<(int[], long[])>();
        for (int i = 0; i < n; i++)
        {
            using var e = new RolloutEngine(model, new RolloutEngineOptions { PageSize = pageSize });
            int id = e.Add(Request(i));
            e.RunAll();
            results.Add(Result(e[id]));
        }
        return results;
    }

    [Fact]
    public void Batch_GivesEachSequenceTheBitsItGetsAlone_IncludingJoiningMidway()
    {
        using var be = new CpuBackend(2);
        using var model = NewModel(be);
        var alone = Alone(model, 12);
        Assert.True(alone.Select(a => a.Tokens.Length).Distinct().Count() > 1, "the prompts should differ in length");

        // all twelve at once
        using (var e = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 12 }))
        {
            var ids = Enumerable.Range(0, 12).Select(i => e.Add(Request(i))).ToArray();
            e.RunAll();
            for (int i = 0; i < 12; i++) SameResult(alone[i], e[ids[i]], $"request {i} in a batch of 12");
        }

        // joining a running batch in reverse order, one every two steps, with small pages and a thirteenth request that
        // is cancelled half-way and released (pages of 16 rows block the CPU's keys per page: the reference uses them too)
        alone = Alone(model, 12, pageSize: 16);
        using (var e = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 13, PageSize = 16 }))
        {
            var ids = new int[12];
            int extra = e.Add(new GenerationRequest { Prompt = new[] { 7, 8, 9 }, Sampler = new Sampler(Grpo(99)), MaxNewTokens = 100 });
            for (int k = 0, i = 11; i >= 0; k++)
            {
                if (k % 2 == 0) ids[i] = e.Add(Request(i--));
                e.Step();
                if (k == 9) { e.Cancel(extra); e.Release(extra); }
            }
            e.RunAll();
            for (int i = 0; i < 12; i++) SameResult(alone[i], e[ids[i]], $"request {i} joining mid-way");
        }
    }

    [Fact]
    public void OnTheIlgpuSimulator_ABatchGivesEachSequenceItsBitsAlone()
    {
        using var be = IlgpuBackend.CreateCpuSimulator();
        using var model = NewModel(be);
        var alone = Alone(model, 3, pageSize: 8);
        using var e = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 3, PageSize = 8 });
        int first = e.Add(Request(2));
        e.Step(); e.Step();
        var ids = new[] { e.Add(Request(0)), e.Add(Request(1)), first };
        e.RunAll();
        for (int i = 0; i < 3; i++) SameResult(alone[i], e[ids[i]], $"ILGPU request {i}");
    }

    [Fact]
    public void TheSamplersStateResumesTheStream_AfterARePrefill()
    {
        using var be = new CpuBackend(2);
        using var model = NewModel(be);
        var request = Request(7, maxNew: 16);
        using var a = new RolloutEngine(model);
        int id = a.Add(request);
        for (int i = 0; i < 8; i++) a.Step();
        ulong saved = a[id].Sampler.RngState;   // what a checkpoint holds
        var head = a[id].Tokens.ToArray();
        a.RunAll();
        var full = a[id];
        Assert.Equal(FinishReason.Length, full.Finish);

        // a resumed run: the tokens so far as a prompt, the sampler from the saved state
        using var b = new RolloutEngine(model);
        int resumed = b.Add(new GenerationRequest { Prompt = head, Sampler = new Sampler(request.Sampler.Options, saved), MaxNewTokens = 8 });
        b.RunAll();
        var tail = b[resumed];
        Assert.Equal(full.Tokens.Skip(head.Length), tail.Completion);
        Assert.Equal(full.LogProbs.Skip(head.Length).Select(BitConverter.DoubleToInt64Bits), tail.LogProbs.Skip(head.Length).Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(full.Sampler.RngState, tail.Sampler.RngState);
    }

    [Fact]
    public void Forks_ShareThePromptPages_AndSampleAsSeparateRequests()
    {
        using var be = new CpuBackend(2);
        using var model = NewModel(be);
        var prompt = Enumerable.Range(0, 70).Select(i => 3 + i * 7 % 290).ToArray(); // 4 pages of 16 + 6 rows of a fifth
        var opts = new RolloutEngineOptions { MaxSequences = 6, PageSize = 16 };
        using var separate = new RolloutEngine(model, opts);
        var sep = Enumerable.Range(0, 6).Select(g => separate.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Grpo(g)), MaxNewTokens = 12 })).ToArray();
        int separatePages = separate.Cache.Pages - separate.Cache.FreePages;
        separate.RunAll();

        using var forked = new RolloutEngine(model, opts);
        var ids = new int[6];
        ids[0] = forked.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Grpo(0)), MaxNewTokens = 12 });
        for (int g = 1; g < 6; g++) ids[g] = forked.Fork(ids[0], new Sampler(Grpo(g)));
        int forkedPages = forked.Cache.Pages - forked.Cache.FreePages;
        forked.RunAll();

        for (int g = 0; g < 6; g++) SameResult(Result(separate[sep[g]]), forked[ids[g]], $"sample {g}");
        Assert.Equal(6 * 5, separatePages);
        Assert.Equal(5, forkedPages);           // the prompt once; the shared tail page is copied on the first write
        // after 11 fed tokens (81 rows, 6 pages each): the 4 full prompt pages stay shared; each sample has its own fifth
        // page (the parent kept the original, each child copied it on its first write) and its own sixth
        Assert.Equal(4 + 6 * 2, forked.Cache.Pages - forked.Cache.FreePages);
        Assert.Equal(6 * 6, separate.Cache.Pages - separate.Cache.FreePages);
        foreach (int id in ids) forked.Release(id);
        Assert.Equal(forked.Cache.Pages, forked.Cache.FreePages);
    }

    [Fact]
    public void EverySequenceStopsForItsOwnReason()
    {
        using var be = new CpuBackend(2);
        using var model = NewModel(be);
        var prompt = new[] { 5, 6, 7, 8 };
        int[] greedyTokens;
        using (var e = new RolloutEngine(model))
        {
            int g = e.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Greedy), MaxNewTokens = 6 });
            e.RunAll();
            greedyTokens = e[g].Completion.ToArray();
            Assert.Equal(FinishReason.Length, e[g].Finish);
            Assert.Equal(6, greedyTokens.Length);
        }
        using var engine = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 4, Context = 12 });
        // a stop id: the token greedy decoding produces third ends the sequence; it is the last token, with its log-prob
        int stop = engine.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Greedy), MaxNewTokens = 6, StopIds = new[] { greedyTokens[2] } });
        // the context: 4 prompt tokens + 8 new reach the engine's 12
        int context = engine.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Grpo(1)), MaxNewTokens = 50 });
        int cancelled = engine.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Grpo(2)), MaxNewTokens = 50 });
        var seen = new List<TokenEvent>();
        for (int k = 0; k < 4; k++) seen.AddRange(engine.Step());
        engine.Cancel(cancelled);
        while (engine.ActiveCount > 0) seen.AddRange(engine.Step());

        int firstStop = Array.IndexOf(greedyTokens, greedyTokens[2]);
        Assert.Equal(greedyTokens[..(firstStop + 1)], engine[stop].Completion);
        Assert.Equal(FinishReason.Stop, engine[stop].Finish);
        Assert.Equal(FinishReason.Stop, seen.Last(e => e.Sequence == stop).Finish);
        Assert.False(double.IsNaN(engine[stop].LogProbs[^1]));
        Assert.Equal(FinishReason.Context, engine[context].Finish);
        Assert.Equal(12, engine[context].Tokens.Count);
        Assert.Equal(11, engine[context].CachedLength); // the last token is returned, not fed
        Assert.Equal(FinishReason.Cancelled, engine[cancelled].Finish);
        Assert.Equal(4, engine[cancelled].Generated);
        Assert.All(engine[context].LogProbs.Skip(4), lp => Assert.True(lp <= 0));
        Assert.All(engine[context].LogProbs.Take(4), lp => Assert.True(double.IsNaN(lp)));
    }

    [Fact]
    public void TheKvBudget_RefusesWhatCannotFinish_AndReleasesWhatFinished()
    {
        using var be = new CpuBackend(2);
        using var model = NewModel(be);
        using var engine = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 2, PageSize = 16, KvPages = 4 });
        Assert.Equal(4, engine.Cache.Pages);
        // 30 prompt + 20 new tokens need up to 4 pages of 16: admitted, then nothing else fits
        int a = engine.Add(new GenerationRequest { Prompt = Enumerable.Repeat(9, 30).ToArray(), Sampler = new Sampler(Greedy), MaxNewTokens = 20 });
        Assert.False(engine.CanAdd(1, 1));
        var full = Assert.Throws<InvalidOperationException>(() => engine.Add(new GenerationRequest { Prompt = new[] { 1 }, Sampler = new Sampler(Greedy), MaxNewTokens = 1 }));
        Assert.Contains("the KV cache cannot hold a prompt of 1 tokens", full.Message);
        engine.RunAll();
        Assert.True(engine.CanAdd(1, 1) == false || engine.AvailablePages >= 0);
        engine.Release(a);
        Assert.Equal(4, engine.AvailablePages);
        // the batch limit
        engine.Add(new GenerationRequest { Prompt = new[] { 1 }, Sampler = new Sampler(Greedy), MaxNewTokens = 2 });
        engine.Add(new GenerationRequest { Prompt = new[] { 2 }, Sampler = new Sampler(Greedy), MaxNewTokens = 2 });
        var busy = Assert.Throws<InvalidOperationException>(() => engine.Add(new GenerationRequest { Prompt = new[] { 3 }, Sampler = new Sampler(Greedy), MaxNewTokens = 2 }));
        Assert.Contains("already runs 2 sequences", busy.Message);
        var tooLong = Assert.Throws<ArgumentException>(() => new RolloutEngine(model).Add(new GenerationRequest { Prompt = new int[161], Sampler = new Sampler(Greedy) }));
        Assert.Contains("--max-seq-len", tooLong.Message);
    }
}

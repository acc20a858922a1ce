using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;
using Minimind.Model.Evaluation;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Rollout;

/// <summary>
/// <see cref="RolloutEngine.Force"/>, teacher forcing K tokens in one forward: its log-probs are a full-sequence forward's
/// (the training path, no KV cache), and it leaves a sequence bit for bit where K forced single-token steps leave it, on the
/// CPU kernels and the ILGPU ones (CPU simulator).
/// </summary>
public sealed class RolloutForceTests
{
    private static ModelConfig Config => RolloutEngineTests.Config with { MaxSeqLen = 100 };

    public static IEnumerable<object[]> Backends() => new[] { new object[] { "cpu" }, new object[] { "ilgpu" } };

    private static IBackend NewBackend(string name) => name == "cpu" ? new CpuBackend(2) : IlgpuBackend.CreateCpuSimulator();

    private static MiniMindModel NewModel(IBackend be)
    {
        var m = MiniMindModel.Create(Config, be, 2, Config.MaxSeqLen);
        m.InitRandom(11);
        return m;
    }

    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };

    private static int[] Ids(Random rng, int n) => Enumerable.Range(0, n).Select(_ => rng.Next(3, 300)).ToArray();

    /// <summary>A prompt of 13 tokens (pages of 8: the forks share a partly filled page and copy it), at position 0 and at
    /// 5 (a left-padded row), forked into runs of 6, 6 and 9 tokens (two forwards); every forced token's logits and
    /// log-prob against the logits of the whole sequence computed at once.</summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public void LogProbs_EqualAFullSequenceForward(string backend)
    {
        using var be = NewBackend(backend);
        using var model = NewModel(be);
        int v = Config.VocabSize;
        var rng = new Random(3);
        foreach (int offset in new[] { 0, 5 })
        {
            var prompt = Ids(rng, 13);
            using var e = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 3, PageSize = 8 });
            int root = e.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Greedy), MaxNewTokens = 20, PositionOffset = offset });
            var ids = new[] { root, e.Fork(root, new Sampler(Greedy)), e.Fork(root, new Sampler(Greedy)) };
            var runs = new[] { Ids(rng, 6), Ids(rng, 9), Ids(rng, 6) };
            var got = e.Force(ids.Zip(runs).ToArray());
            for (int r = 0; r < runs.Length; r++)
            {
                Assert.Equal(ids[r], got[r].Sequence);
                var whole = prompt.Concat(runs[r]).ToArray();
                var full = model.Logits(whole, 1, whole.Length, new[] { offset });
                for (int j = 0; j < runs[r].Length; j++)
                {
                    var want = full.AsSpan((prompt.Length - 1 + j) * v, v);
                    var row = got[r].Logits.AsSpan(j * v, v);
                    for (int x = 0; x < v; x++)
                        Assert.True(Math.Abs(row[x] - want[x]) <= 1e-4f * Math.Max(1f, Math.Abs(want[x])), $"offset {offset} run {r} token {j} logit {x}: {row[x]} vs {want[x]}");
                    double lp = ChoiceScorer.TokenLogProb(want, runs[r][j]).LogProb;
                    Assert.True(Math.Abs(got[r].LogProbs[j] - lp) < 1e-4, $"offset {offset} run {r} token {j}: {got[r].LogProbs[j]} vs {lp}");
                }
                // the next-token logits are the full forward's last row
                var next = full.AsSpan((whole.Length - 1) * v, v);
                for (int x = 0; x < v; x++) Assert.True(Math.Abs(e[ids[r]].NextLogits[x] - next[x]) <= 1e-4f * Math.Max(1f, Math.Abs(next[x])), $"run {r} next logit {x}");
                Assert.Equal(whole, e[ids[r]].Tokens);
            }
        }
    }

    /// <summary>Forcing 7 tokens at once, then generating 10 greedily, gives the bits (tokens, log-probs, logits) of forcing
    /// the same 7 one step at a time, then generating: the rows Force wrote to the KV cache are the ones the steps write.
    /// Prompts of 11 and 70 tokens (past a 64-key block), pages of 8 and 64 rows.</summary>
    [Theory]
    [InlineData("cpu", 11, 8)]
    [InlineData("cpu", 70, 64)]
    [InlineData("ilgpu", 11, 8)]
    [InlineData("ilgpu", 70, 16)]
    public void TheCacheAfterwards_EqualsDecodingTokenByToken(string backend, int promptTokens, int pageSize)
    {
        using var be = NewBackend(backend);
        using var model = NewModel(be);
        var rng = new Random(9);
        var prompt = Ids(rng, promptTokens);
        var known = Ids(rng, 7);
        (int[] Tokens, double[] LogProbs, float[] Next) Run(bool atOnce)
        {
            using var e = new RolloutEngine(model, new RolloutEngineOptions { PageSize = pageSize });
            int id = e.Add(new GenerationRequest { Prompt = prompt, Sampler = new Sampler(Greedy), MaxNewTokens = 17 });
            if (atOnce) e.Force(new[] { (id, known) });
            else foreach (int t in known) e.Step(new Dictionary<int, int> { [id] = t });
            for (int i = 0; i < 9; i++) e.Step();
            return (e[id].Tokens.ToArray(), e[id].LogProbs.ToArray(), e[id].NextLogits.ToArray());
        }
        var steps = Run(false);
        var force = Run(true);
        Assert.Equal(steps.Tokens, force.Tokens);
        Assert.Equal(steps.LogProbs.Select(BitConverter.DoubleToInt64Bits), force.LogProbs.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(steps.Next.Select(BitConverter.SingleToInt32Bits), force.Next.Select(BitConverter.SingleToInt32Bits));
    }

    /// <summary>A run must leave its sequence active: within its budget and the context, in the vocabulary, once per call.</summary>
    [Fact]
    public void Refuses_RunsThatWouldStopTheSequence()
    {
        using var be = new CpuBackend(2);
        using var model = NewModel(be);
        using var e = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 2 });
        int id = e.Add(new GenerationRequest { Prompt = new[] { 5, 6, 7 }, Sampler = new Sampler(Greedy), MaxNewTokens = 4 });
        Assert.Contains("remaining budget of 4", Assert.Throws<ArgumentException>(() => e.Force(new[] { (id, new[] { 1, 2, 3, 4 }) })).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => e.Force(new[] { (id, new[] { 300 }) })).Message);
        Assert.Contains("forced twice", Assert.Throws<ArgumentException>(() => e.Force(new[] { (id, new[] { 1 }), (id, new[] { 2 }) })).Message);
        int wide = e.Add(new GenerationRequest { Prompt = Enumerable.Repeat(9, 92).ToArray(), Sampler = new Sampler(Greedy), MaxNewTokens = 20 });
        Assert.Contains("the context holds 100", Assert.Throws<ArgumentException>(() => e.Force(new[] { (wide, Enumerable.Repeat(1, 8).ToArray()) })).Message);
        e.Cancel(id);
        Assert.Contains("not active", Assert.Throws<InvalidOperationException>(() => e.Force(new[] { (id, new[] { 1 }) })).Message);
        Assert.Equal(3, e[id].Tokens.Count);
    }
}

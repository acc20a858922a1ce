using Minimind.Kernels.Cpu;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Model;

/// <summary>Greedy decoding against PyTorch, and the KV-cache path against full recomputation.</summary>
public sealed class GenerationTests
{
    public static IEnumerable<object[]> Fixtures() => ModelFixture.All();

    [Theory, MemberData(nameof(Fixtures))]
    public void Greedy32Tokens_MatchPyTorch(string name)
    {
        var fx = ModelFixture.Load(name);
        using var be = new CpuBackend();
        var prompt = fx.I("prompt");
        using var model = MiniMindModel.Create(fx.Config, be, 1, prompt.Length + 32);
        model.LoadStateDict(fx.Weights);
        var got = TextGenerator.Generate(model, prompt, 32, new Sampler(new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 }), eosId: -1).ToArray();
        Assert.Equal(fx.I("greedy"), got);
    }

    [Theory]
    [InlineData("minimind-v1-moe")]
    [InlineData("minimind2-hf-dense")]
    [InlineData("minimind3-moe")]
    public void KvCacheDecoding_EqualsFullRecomputation(string name)
    {
        var fx = ModelFixture.Load(name);
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(fx.Config, be, 1, 24);
        model.LoadStateDict(fx.Weights);
        var seq = fx.I("inputs").Take(24).ToArray();
        int v = fx.Config.VocabSize;
        // The engine's sequence: a prefill of 5 tokens, then one token at a time (Extend feeds exactly the given tokens).
        using var engine = new RolloutEngine(model);
        var greedy = new Sampler(new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 });
        int id = engine.Add(new GenerationRequest { Prompt = seq[..5], Sampler = greedy });
        var prefill = engine[id].NextLogits.ToArray();
        var full = model.Logits(seq[..5], 1, 5);
        Assert.True(ModelFixture.RelErr(prefill, full.AsSpan(4 * v, v)) < 1e-5);
        for (int t = 5; t < seq.Length; t++)
        {
            engine.Cancel(id);
            engine.Extend(id, seq.AsSpan(t, 1), 1);
            var step = engine[id].NextLogits.ToArray();
            var all = model.Logits(seq[..(t + 1)], 1, t + 1);
            double e = ModelFixture.RelErr(step, all.AsSpan(t * v, v));
            Assert.True(e < 1e-5, $"{name}: position {t}: cached logits differ from recomputation by {e:E2}");
        }
        Assert.Equal(seq.Length, engine[id].CachedLength);
        // the cache is full: one more token must be refused with a message naming the context
        engine.Cancel(id);
        var ex = Assert.Throws<ArgumentException>(() => engine.Extend(id, new[] { 1 }, 1));
        Assert.Contains("--max-seq-len", ex.Message);
    }

    [Fact]
    public void KvCacheDecoding_Batch2_EqualsEachSequenceRecomputed()
    {
        var fx = ModelFixture.Load("minimind2-moe");
        using var be = new CpuBackend();
        using var model = MiniMindModel.Create(fx.Config, be, 2, 16);
        model.LoadStateDict(fx.Weights);
        var all = fx.I("inputs"); // [2, 16]
        int v = fx.Config.VocabSize;
        // Both sequences decode in one batch, their tokens forced (teacher forcing); a context of 17 feeds position 15 too.
        using var engine = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = 2, Context = 17 });
        var greedy = new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 };
        int a = engine.Add(new GenerationRequest { Prompt = all[..4], Sampler = new Sampler(greedy) });
        int b2 = engine.Add(new GenerationRequest { Prompt = all[16..20], Sampler = new Sampler(greedy) });
        for (int t = 4; t < 16; t++)
        {
            engine.Step(new Dictionary<int, int> { [a] = all[t], [b2] = all[16 + t] });
            for (int b = 0; b < 2; b++)
            {
                var step = engine[b == 0 ? a : b2].NextLogits;
                var full = model.Logits(all.AsSpan(b * 16, t + 1).ToArray(), 1, t + 1);
                double e = ModelFixture.RelErr(step, full.AsSpan(t * v, v));
                Assert.True(e < 1e-5, $"sequence {b}, position {t}: {e:E2}");
            }
        }
    }

    [Fact]
    public void Sampler_RepetitionPenalty_DividesPositiveAndMultipliesNegativeLogits()
    {
        var greedyRp = new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 2f };
        // token 0 seen: 2 → 1 < 1.9, so token 1 wins
        Assert.Equal(1, new Sampler(greedyRp).Next(new float[] { 2f, 1.9f, -1f }, new[] { 0 }));
        // negative logit of a seen token is pushed down: −1 → −2 < −1.5
        Assert.Equal(1, new Sampler(greedyRp).Next(new float[] { -1f, -1.5f }, new[] { 0 }));
    }

    [Fact]
    public void Sampler_TopPAndTopK_KeepTheHandDerivedSets()
    {
        // probs 0.5, 0.3, 0.2 (logits = ln p): with top-p 0.6 the cumulative mass before token 2 is 0.8 > 0.6,
        // so only tokens 0 and 1 stay, renormalised to 0.625 / 0.375
        var logits = new[] { MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f) };
        var s = new Sampler(new SamplingOptions { Temperature = 1, TopP = 0.6f, RepetitionPenalty = 1, Seed = 7 });
        var counts = new int[3];
        for (int i = 0; i < 4000; i++) counts[s.Next((float[])logits.Clone(), ReadOnlySpan<int>.Empty)]++;
        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[0] / 4000.0, 0.625 - 0.04, 0.625 + 0.04);
        // top-k 1 is greedy whatever the temperature
        var k1 = new Sampler(new SamplingOptions { Temperature = 5, TopK = 1, TopP = 1, RepetitionPenalty = 1, Seed = 3 });
        for (int i = 0; i < 50; i++) Assert.Equal(0, k1.Next((float[])logits.Clone(), ReadOnlySpan<int>.Empty));
        // the same seed draws the same sequence
        var a = new Sampler(new SamplingOptions { Temperature = 1, TopP = 1, RepetitionPenalty = 1, Seed = 11 });
        var b = new Sampler(new SamplingOptions { Temperature = 1, TopP = 1, RepetitionPenalty = 1, Seed = 11 });
        for (int i = 0; i < 20; i++) Assert.Equal(a.Next((float[])logits.Clone(), default), b.Next((float[])logits.Clone(), default));
    }
}

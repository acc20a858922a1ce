using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Model;

/// <summary>
/// The model's weights kept as packed matmul panels between calls (<see cref="IBackend.KeepWeights"/>) against a backend
/// that packs on every call: generated ids and logits, training steps (two micro-batches, an optimizer step, an evaluation
/// between steps) and a reload of the weights give the same bits, and the panels are really kept where nothing writes.
/// </summary>
public sealed class KeptPanelsTests
{
    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };

    private static int[] Tokens(int seed, int n, int vocab)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(vocab)).ToArray();
    }

    private static void SameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} with kept panels, {expected[i]:R} packing every call");
    }

    [Theory]
    [InlineData("minimind3-dense", Precision.Fp32)]
    [InlineData("minimind3-moe", Precision.Bf16)]
    [InlineData("minimind-v1-dense", Precision.Bf16)]
    public void Generation_SameIdsAndLogits(string name, Precision precision)
    {
        var fx = ModelFixture.Load(name);
        // A 50-token prompt takes the tiled SGEMM (over 48 rows), the decode steps the skinny one.
        var prompt = Tokens(1, 50, fx.Config.VocabSize);
        (int[] Ids, float[] Logits, long Kept) Run(bool keep)
        {
            using var be = new CpuBackend(2, keepPackedWeights: keep);
            using var model = MiniMindModel.Create(fx.Config, be, 1, 64);
            model.Precision = precision;
            model.LoadStateDict(fx.Weights);
            var ids = TextGenerator.Generate(model, prompt, 12, new Sampler(Greedy), eosId: -1).ToArray();
            var logits = model.Logits(prompt, 1, prompt.Length);
            return (ids, logits, CpuBackend.PackedBytes(model.Weights));
        }
        var fresh = Run(keep: false);
        var kept = Run(keep: true);
        Assert.Equal(0, fresh.Kept);
        Assert.True(kept.Kept > 0, "generation kept no panels");
        Assert.Equal(fresh.Ids, kept.Ids);
        SameBits(fresh.Logits, kept.Logits, $"{name} {precision} logits after generation");
    }

    [Theory]
    [InlineData("minimind3-dense")]
    [InlineData("minimind2-moe")]
    public void TrainingSteps_SameWeightsAndLosses(string name)
    {
        var fx = ModelFixture.Load(name);
        int v = fx.Config.VocabSize;
        // 4 × 16 = 64 rows: the tiled SGEMM in forward and backward.
        var batches = Enumerable.Range(0, 2).Select(i =>
        {
            var ids = Tokens(10 + i, 4 * 17, v);
            var inputs = new int[64]; var targets = new int[64];
            for (int b = 0; b < 4; b++) { Array.Copy(ids, b * 17, inputs, b * 16, 16); Array.Copy(ids, b * 17 + 1, targets, b * 16, 16); }
            return new Batch(4, 16, inputs, targets);
        }).ToArray();
        var evalIds = Tokens(20, 16, v);
        (float[] Weights, List<float> Losses, long Kept) Run(bool keep)
        {
            using var be = new CpuBackend(2, keepPackedWeights: keep);
            using var model = MiniMindModel.Create(fx.Config, be, 4, 16);
            model.LoadStateDict(fx.Weights);
            var m = be.Alloc(model.Weights.Length); var s = be.Alloc(model.Weights.Length);
            var losses = new List<float>();
            for (int step = 1; step <= 3; step++)
            {
                model.ZeroGradients();
                // Two micro-batches at one weight version: the second reads the panels the first left.
                foreach (var batch in batches) losses.Add(model.ForwardBackward(batch, 0.5f));
                be.AdamW(model.Weights, model.Gradients, m, s, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 1f);
                // An evaluation between steps reads the new weights twice.
                losses.AddRange(model.Logits(evalIds, 1, 16).Take(4));
                losses.AddRange(model.Logits(evalIds, 1, 16).Take(4));
            }
            var w = new float[model.Weights.Length];
            be.Download(model.Weights, w);
            return (w, losses, CpuBackend.PackedBytes(model.Weights));
        }
        var fresh = Run(keep: false);
        var kept = Run(keep: true);
        Assert.True(kept.Kept > 0, "training kept no panels");
        SameBits(fresh.Losses.ToArray(), kept.Losses.ToArray(), $"{name} losses and eval logits");
        SameBits(fresh.Weights, kept.Weights, $"{name} weights after 3 steps");
    }

    [Fact]
    public void ReloadingWeights_IsSeenByTheNextForward()
    {
        var fx = ModelFixture.Load("minimind3-dense");
        var prompt = Tokens(3, 60, fx.Config.VocabSize);
        using var be = new CpuBackend(2);
        using var model = MiniMindModel.Create(fx.Config, be, 1, 64);
        model.LoadStateDict(fx.Weights);
        model.Logits(prompt, 1, 60);
        model.Logits(prompt, 1, 60);
        Assert.True(CpuBackend.PackedBytes(model.Weights) > 0);
        model.InitRandom(7);
        var after = model.Logits(prompt, 1, 60);
        using var be2 = new CpuBackend(2, keepPackedWeights: false);
        using var reference = MiniMindModel.Create(fx.Config, be2, 1, 64);
        reference.InitRandom(7);
        SameBits(reference.Logits(prompt, 1, 60), after, "logits after InitRandom");
        model.LoadStateDict(fx.Weights);
        reference.LoadStateDict(fx.Weights);
        model.Logits(prompt, 1, 60);
        SameBits(reference.Logits(prompt, 1, 60), model.Logits(prompt, 1, 60), "logits after LoadStateDict");
    }
}

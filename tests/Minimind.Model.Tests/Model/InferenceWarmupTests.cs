using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Model;

/// <summary>
/// The load-time <see cref="InferenceWarmup"/> (frozen weights: panels packed and kept at their first use, and a
/// throwaway generation) against a backend that packs on every call: the generated ids and the logits after it are the
/// same bits, whether the warm-up ran on the loaded weights, before they were loaded (its panels must then be dropped),
/// or at another precision than the one generated at; and the warm-up really leaves the panels packed.
/// </summary>
public sealed class InferenceWarmupTests
{
    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };

    public enum Order { AfterLoad, BeforeLoad, AtFp32ThenOtherPrecision }

    [Theory]
    [InlineData("minimind3-dense", Precision.Fp32, Order.AfterLoad)]
    [InlineData("minimind3-dense", Precision.Fp32, Order.BeforeLoad)]
    [InlineData("minimind3-moe", Precision.Bf16, Order.AfterLoad)]
    [InlineData("minimind-v1-dense", Precision.Bf16, Order.AtFp32ThenOtherPrecision)]
    public void WarmedUp_SameIdsAndLogitsAsPackingEveryCall(string name, Precision precision, Order order)
    {
        var fx = ModelFixture.Load(name);
        var r = new Random(3);
        // 50 prompt tokens: the tiled SGEMM (over 48 rows); the decode steps take the skinny one.
        var prompt = Enumerable.Range(0, 50).Select(_ => r.Next(fx.Config.VocabSize)).ToArray();
        (int[] Ids, float[] Logits) Run(CpuBackend be, bool warm)
        {
            using var model = MiniMindModel.Create(fx.Config, be, 1, 64);
            model.Precision = order == Order.AtFp32ThenOtherPrecision ? Precision.Fp32 : precision;
            if (warm && order == Order.BeforeLoad) InferenceWarmup.Run(model);
            model.LoadStateDict(fx.Weights);
            if (warm && order != Order.BeforeLoad)
            {
                var report = InferenceWarmup.Run(model);
                Assert.True(report.PackedBytes > 0, "the warm-up packed no panels");
                Assert.Equal(CpuBackend.PackedBytes(model.Weights), report.PackedBytes);
            }
            model.Precision = precision;
            var ids = TextGenerator.Generate(model, prompt, 10, new Sampler(Greedy), eosId: -1).ToArray();
            return (ids, model.Logits(prompt, 1, prompt.Length));
        }
        using var plain = new CpuBackend(2, keepPackedWeights: false);
        using var kept = new CpuBackend(2);
        var expected = Run(plain, warm: false);
        var actual = Run(kept, warm: true);
        Assert.Equal(expected.Ids, actual.Ids);
        Assert.Equal(expected.Logits.Length, actual.Logits.Length);
        for (int i = 0; i < expected.Logits.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected.Logits[i]) != BitConverter.SingleToInt32Bits(actual.Logits[i]))
                Assert.Fail($"{name} {precision} {order}: logit {i} is {actual.Logits[i]:R} after the warm-up, {expected.Logits[i]:R} packing every call");
    }

    [Fact]
    public void WarmUp_PromptFitsTheContext()
    {
        var fx = ModelFixture.Load("minimind3-dense");
        using var be = new CpuBackend(2);
        using var model = MiniMindModel.Create(fx.Config, be, 1, 40);
        model.LoadStateDict(fx.Weights);
        var report = InferenceWarmup.Run(model);
        // The context of 40 leaves room for a 38-token prompt and one decode step.
        Assert.Equal(38, report.PromptTokens);
        Assert.Contains("38-token prompt + 1 decode step", report.ToString());
    }
}

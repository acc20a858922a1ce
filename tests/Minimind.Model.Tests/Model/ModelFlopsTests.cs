using Minimind.Model;

namespace Minimind.Model.Tests.Model;

/// <summary><see cref="ModelFlops"/> against counts derived by hand from the presets' shapes.</summary>
public class ModelFlopsTests
{
    [Fact]
    public void MinimindV1_DenseAndMoe_MatchHandCounts()
    {
        var v1 = ModelConfig.Preset("minimind-v1"); // dim 512, 8 layers, 16/8 heads of 32, FFN 64·ceil(8·512/3/64) = 1408, vocab 6400
        // per layer: q,o 512·512 each, k,v 512·256 each = 786,432; FFN 3·512·1408 = 2,162,688; LM head 512·6400 = 3,276,800.
        Assert.Equal(8L * (786_432 + 2_162_688) + 3_276_800, ModelFlops.MatmulWeightsPerToken(v1));
        // MoE: top-2 routed + 1 shared expert of the same width, router 512·4.
        Assert.Equal(8L * (786_432 + 3 * 2_162_688 + 2_048) + 3_276_800, ModelFlops.MatmulWeightsPerToken(v1 with { UseMoe = true }));
        // Training at T = 256: 6·26,869,760 + 12·8 layers·512·256 = 161,218,560 + 12,582,912.
        Assert.Equal(173_801_472.0, ModelFlops.TrainingPerToken(v1, 256));
        // LoRA: 4 per frozen weight, 6 per adapter weight.
        Assert.Equal(4.0 * 26_869_760 + 6.0 * 1000 + 12_582_912, ModelFlops.TrainingPerToken(v1, 256, frozenBase: true, adapterWeights: 1000));
    }

    [Fact]
    public void Minimind3_MatchesHandCount()
    {
        var m3 = ModelConfig.Preset("minimind3"); // dim 768, 8 layers, 8/4 heads of 96, FFN 64·ceil(768·π/64) = 2432
        Assert.Equal(2432, m3.EffectiveHiddenDim);
        long perLayer = 768L * 768 * 2 + 768L * 384 * 2 + 3L * 768 * 2432;
        Assert.Equal(8 * perLayer + 768L * 6400, ModelFlops.MatmulWeightsPerToken(m3));
    }
}

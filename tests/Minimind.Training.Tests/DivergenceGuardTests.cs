using Minimind.Model;
using Minimind.Training;

namespace Minimind.Training.Tests;

/// <summary>The guard's decisions on hand-made loss sequences, and the architecture record's round trip.</summary>
public class DivergenceGuardTests
{
    [Fact]
    public void NonFiniteStepsAreSkippedAndCountedUntilTheLimit()
    {
        var log = new List<float> { 5f, 4f };
        var g = new DivergenceGuard(log, maxBadSteps: 2, spikeFactor: 3);
        Assert.True(g.Check(3, 3.9f, 1.0, out var m));
        Assert.Null(m);
        log.Add(3.9f);
        Assert.False(g.Check(4, float.NaN, 1.0, out m));
        Assert.Contains("loss NaN is not finite", m);
        Assert.Null(g.StopReason);
        log.Add(float.NaN);
        Assert.True(g.Check(5, 3.8f, 1.0, out _)); // a good step resets the run of bad ones
        log.Add(3.8f);
        Assert.False(g.Check(6, 3.7f, double.PositiveInfinity, out m));
        Assert.Contains("grad-norm", m);
        log.Add(3.7f);
        Assert.False(g.Check(7, float.PositiveInfinity, 1.0, out _));
        Assert.Equal(3, g.SkippedSteps);
        Assert.Contains("2 consecutive steps", g.StopReason);
    }

    [Fact]
    public void ASpikeAboveTheFactorTimesTheRecentMedianStops()
    {
        // median of {5, 4, 3, NaN (ignored), 2} = 3.5: 10.5 is the threshold.
        var log = new List<float> { 5f, 4f, 3f, float.NaN, 2f };
        var g = new DivergenceGuard(log, spikeFactor: 3);
        Assert.False(g.IsSpike(10.5f));
        Assert.True(g.IsSpike(10.6f));
        Assert.True(g.Check(6, 10.5f, 1, out _));
        Assert.Null(g.StopReason);
        log.Add(10.5f); // median of {5, 4, 3, 2, 10.5} = 4
        Assert.False(g.Check(7, 12.1f, 1, out var m));
        Assert.Contains("loss spike at step 7", g.StopReason);
        Assert.Contains("median 4", m);
        Assert.True(new DivergenceGuard(log, spikeFactor: 0).Check(7, 1e9f, 1, out _)); // 0 = off
        Assert.True(new DivergenceGuard(new List<float>()).Check(1, 1e9f, 1, out _)); // nothing to compare with yet
    }

    [Fact]
    public void NonFiniteStateIsNamed()
    {
        Assert.Null(DivergenceGuard.NonFinite(new[] { 1f }, new[] { 0f }, new[] { 0f }));
        Assert.Equal("AdamW second moment element 1 is Infinity", DivergenceGuard.NonFinite(new[] { 1f, 2f }, new[] { 0f, 0f }, new[] { 0f, float.PositiveInfinity }));
    }

    [Theory]
    [InlineData("minimind-v1")]
    [InlineData("minimind2")]
    [InlineData("minimind2-hf")]
    [InlineData("minimind3")]
    public void TheArchitectureRecordRoundTripsEveryField(string preset)
    {
        var c = ModelConfig.Preset(preset) with
        {
            Dim = 96, NLayers = 3, NHeads = 6, NKvHeads = 3, VocabSize = 300, HiddenDim = 160, MaxSeqLen = 77, RopeTheta = 12345.678f,
            NormEps = 3.3e-7f, UseMoe = true, NExperts = 5, TopK = 1, NSharedExperts = preset == "minimind3" ? 0 : 1, AuxAlpha = 0.0123f,
            TiedEmbeddings = false,
        };
        var back = ArchitectureRecord.Decode(ArchitectureRecord.Encode(c, "/x/tokenizer.json"), "test");
        Assert.Equal(c, back.Config);
        Assert.Equal("/x/tokenizer.json", back.Tokenizer);
        var e = Assert.Throws<InvalidDataException>(() => ArchitectureRecord.Decode("{\"format\": \"other\"}"u8.ToArray(), "f.pth"));
        Assert.Contains("f.pth", e.Message);
    }
}

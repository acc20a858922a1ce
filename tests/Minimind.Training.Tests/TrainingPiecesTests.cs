using Minimind.Training;

namespace Minimind.Training.Tests;

public class TrainingStateTests
{
    [Fact]
    public void SerializeRoundTripsEveryField()
    {
        var s = new TrainingState
        {
            Arch = new KeyValuePair<string, string>[] { new("dim", "64"), new("use-moe", "0") },
            OptimizerStep = 123, TotalSteps = 456, Epochs = 2, Epoch = 1, MicroStepInEpoch = 17, TokensSeen = 987654321,
            Seed = -5, WorldSize = 2, BatchSize = 4, AccumulationSteps = 3, SeqLen = 63, LearningRate = 5e-4, GradClip = 1.0,
            DataCount = 1000, DataDescription = "built-in", DataHash = "sha256:00ff", Device = "cpu", Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f,
            WeightDecay = 0.01f, AdamStep = 123, Losses = new List<float> { 3.5f, float.NaN, 2.25f }, NextBatchLoss = 1.125f,
        };
        var b = TrainingState.Deserialize(s.Serialize(), "x");
        Assert.Equal(s.DataHash, b.DataHash);
        Assert.Equal(s.Arch, b.Arch);
        Assert.Equal((s.OptimizerStep, s.TotalSteps, s.Epochs, s.Epoch, s.MicroStepInEpoch, s.TokensSeen, s.Seed, s.WorldSize),
            (b.OptimizerStep, b.TotalSteps, b.Epochs, b.Epoch, b.MicroStepInEpoch, b.TokensSeen, b.Seed, b.WorldSize));
        Assert.Equal((s.BatchSize, s.AccumulationSteps, s.SeqLen, s.LearningRate, s.GradClip, s.DataCount, s.DataDescription, s.Device),
            (b.BatchSize, b.AccumulationSteps, b.SeqLen, b.LearningRate, b.GradClip, b.DataCount, b.DataDescription, b.Device));
        Assert.Equal((s.Beta1, s.Beta2, s.Eps, s.WeightDecay, s.AdamStep, s.NextBatchLoss), (b.Beta1, b.Beta2, b.Eps, b.WeightDecay, b.AdamStep, b.NextBatchLoss));
        Assert.Equal(s.Losses.Select(BitConverter.SingleToInt32Bits), b.Losses.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void GarbageIsRejectedWithTheSourceName()
    {
        var e = Assert.Throws<InvalidDataException>(() => TrainingState.Deserialize(new byte[] { 0x81, 0xa1 }, "state.msgpack"));
        Assert.Contains("state.msgpack", e.Message);
    }
}

public class DataOrderTests
{
    [Fact]
    public void IsAPermutationFixedBySeedAndEpoch()
    {
        var a = DataOrder.Permutation(1000, 42, 0);
        Assert.Equal(Enumerable.Range(0, 1000), a.OrderBy(x => x));
        Assert.Equal(a, DataOrder.Permutation(1000, 42, 0));
        Assert.NotEqual(a, DataOrder.Permutation(1000, 42, 1));
        Assert.NotEqual(a, DataOrder.Permutation(1000, 43, 0));
        // Shuffled: far from the identity.
        Assert.True(a.Where((x, i) => x == i).Count() < 20);
    }

    [Fact]
    public void SplitMix64MatchesReferenceVector()
    {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c): first three outputs.
        ulong st = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, DataOrder.SplitMix64(ref st));
        Assert.Equal(0x6E789E6AA1B965F4UL, DataOrder.SplitMix64(ref st));
        Assert.Equal(0x06C45D188009454FUL, DataOrder.SplitMix64(ref st));
    }
}

public class ArchSignatureTests
{
    [Fact]
    public void DifferencesNameTheFields()
    {
        var a = Minimind.Model.ModelConfig.Preset("minimind-v1");
        var b = a with { Dim = 256, UseMoe = true };
        var d = ArchSignature.Differences(ArchSignature.Of(a), ArchSignature.Of(b));
        Assert.Contains(d, x => x.StartsWith("dim: checkpoint 512, requested 256"));
        Assert.Contains(d, x => x.StartsWith("use-moe: checkpoint 0, requested 1"));
        Assert.Empty(ArchSignature.Differences(ArchSignature.Of(a), ArchSignature.Of(a)));
    }
}

public class MetricsLogTests
{
    [Fact]
    public void ResumeDropsLinesOfLostStepsAndAppends()
    {
        using var t = new TempDir();
        var p = Path.Combine(t.Path, "m.jsonl");
        using (var m = new MetricsLog(p, null))
            for (int s = 1; s <= 5; s++) m.Write(new KeyValuePair<string, object?>[] { new("step", (long)s), new("loss", 1.5f) });
        File.AppendAllText(p, "{\"step\": 6, \"lo"); // a line cut short by a kill
        using (var m = new MetricsLog(p, 3)) m.Write(new KeyValuePair<string, object?>[] { new("event", "resume"), new("step", 3L) });
        var lines = File.ReadAllLines(p);
        Assert.Equal(4, lines.Length);
        Assert.Equal("{\"step\":3,\"loss\":1.5}", lines[2]);
        Assert.Equal("{\"event\":\"resume\",\"step\":3}", lines[3]);
    }
}

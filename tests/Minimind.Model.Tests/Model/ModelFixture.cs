using Minimind.Checkpoint;

namespace Minimind.Model.Tests.Model;

/// <summary>One PyTorch-written fixture: weights, config.json and expected outputs (tools/reference/make_fixtures.py).</summary>
internal sealed class ModelFixture
{
    public required string Name { get; init; }
    public required string Dir { get; init; }
    public required StateDict Weights { get; init; }
    public required PickleDict Expected { get; init; }
    public required ModelConfig Config { get; init; }

    public string WeightsPath => Path.Combine(Dir, "model.pth");

    /// <summary>All fixture names, preset × {dense, moe}.</summary>
    public static IEnumerable<object[]> All() =>
        from p in ModelConfig.PresetNames from k in new[] { "dense", "moe" } select new object[] { $"{p}-{k}" };

    public static ModelFixture Load(string name)
    {
        string dir = ModelTestPaths.Fixture(name);
        string arch = name[..name.LastIndexOf('-')];
        var sd = StateDict.Read(Path.Combine(dir, "model.pth"));
        var exp = (PickleDict)PthReader.Read(Path.Combine(dir, "expected.pth")).Root!;
        var cfg = ModelConfigJson.Load(Path.Combine(dir, "config.json"), arch);
        return new ModelFixture { Name = name, Dir = dir, Weights = sd, Expected = exp, Config = cfg };
    }

    public TorchTensor T(string key) => (TorchTensor)Expected[key]!;
    public float[] F(string key) => T(key).ToFloat32();
    public int[] I(string key) => T(key).ToInt64().Select(v => checked((int)v)).ToArray();

    /// <summary>The fixture's training batch (B=2, T=16, targets with -100, a 0/1 loss mask).</summary>
    public Batch Batch()
    {
        var shape = T("inputs").Shape;
        return new Batch(shape[0], shape[1], I("inputs"), I("targets"), F("mask"));
    }

    /// <summary>max |a−b| / max |b| (relative to the reference's scale).</summary>
    public static double RelErr(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(b.Length, a.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)a[i] - b[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)b[i]));
        }
        return maxDiff / Math.Max(maxRef, 1e-30);
    }
}

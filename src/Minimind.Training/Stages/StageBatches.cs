using Minimind.Model;
using Minimind.Model.Data;

namespace Minimind.Training.Stages;

/// <summary>Batch assembly shared by the stages.</summary>
public static class StageBatches
{
    /// <summary>One row per sample of <paramref name="data"/>, in the order given.</summary>
    public static Batch Rows(IPretrainSource data, ReadOnlySpan<int> samples)
    {
        int b = samples.Length, t = data.SeqLen;
        var inputs = new int[b * t];
        var targets = new int[b * t];
        for (int r = 0; r < b; r++)
            data.Fill(samples[r], inputs.AsSpan(r * t, t), targets.AsSpan(r * t, t));
        return new Batch(b, t, inputs, targets);
    }
}

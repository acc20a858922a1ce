using Minimind.Model.Data;

namespace Minimind.Model.Tests.Data;

/// <summary>Reads samples out of a pretraining source and compares two sources sample by sample.</summary>
internal static class PretrainSamples
{
    /// <summary>Sample <paramref name="i"/> of <paramref name="s"/>: inputs and targets.</summary>
    public static (int[] X, int[] Y) Of(IPretrainSource s, long i)
    {
        var x = new int[s.SeqLen]; var y = new int[s.SeqLen];
        s.Fill(i, x, y);
        return (x, y);
    }

    /// <summary>Asserts that <paramref name="actual"/> holds exactly <paramref name="expected"/>'s samples.</summary>
    public static void AssertSame(IPretrainSource expected, IPretrainSource actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.SeqLen, actual.SeqLen);
        for (long i = 0; i < expected.Count; i++)
        {
            var (ex, ey) = Of(expected, i);
            var (ax, ay) = Of(actual, i);
            Assert.Equal(ex, ax);
            Assert.Equal(ey, ay);
        }
    }
}

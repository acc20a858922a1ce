using Minimind.Model.Data;

namespace Minimind.Model.Tests.Data;

/// <summary>MiniMind's row convention on hand-derived values.</summary>
public sealed class PretrainRowTests
{
    [Fact]
    public void ShortText_IsPadded_AndPadTargetsIgnored()
    {
        var row = new int[6];
        int used = PretrainRow.Build(new[] { 10, 11, 12 }, bosId: 1, eosId: 2, padId: 0, row);
        Assert.Equal(5, used);
        Assert.Equal(new[] { 1, 10, 11, 12, 2, 0 }, row);
        var x = new int[5]; var y = new int[5];
        PretrainRow.Shift(row, 0, x, y);
        Assert.Equal(new[] { 1, 10, 11, 12, 2 }, x);
        Assert.Equal(new[] { 10, 11, 12, 2, -100 }, y);
    }

    [Fact]
    public void LongText_IsTruncatedToMaxLenMinusTwo_AndKeepsEos()
    {
        var row = new int[6];
        PretrainRow.Build(Enumerable.Range(10, 10).ToArray(), 1, 2, 0, row);
        Assert.Equal(new[] { 1, 10, 11, 12, 13, 2 }, row);
        var x = new int[5]; var y = new int[5];
        PretrainRow.Shift(row, 0, x, y);
        Assert.Equal(new[] { 10, 11, 12, 13, 2 }, y);
    }

    [Fact]
    public void PadIdInsideText_IsIgnoredToo_AsMiniMindMasksByValue()
    {
        var row = new int[5];
        PretrainRow.Build(new[] { 7, 0, 8 }, 1, 2, 0, row);
        var x = new int[4]; var y = new int[4];
        PretrainRow.Shift(row, 0, x, y);
        Assert.Equal(new[] { 7, -100, 8, 2 }, y);
    }
}

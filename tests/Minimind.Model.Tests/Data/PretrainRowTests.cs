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

/// <summary>Batches assembled from a source, and the seeded epoch order.</summary>
public sealed class PretrainBatchesTests
{
    [Fact]
    public void CreateBatch_PlacesSamplesRowByRow()
    {
        var tok = new Minimind.Model.Tokenizer.ByteTokenizer();
        var src = InMemoryPretrainSource.FromTexts(tok, new[] { "a", "bc" }, maxSeqLen: 4);
        var batch = src.CreateBatch(new long[] { 1, 0 });
        Assert.Equal((2, 3), (batch.BatchSize, batch.SeqLen));
        Assert.Equal(new[] { 257, 98, 99, 257, 97, 258 }, batch.Inputs);
        Assert.Equal(new[] { 98, 99, 258, 97, 258, -100 }, batch.Targets);
        src.FillBatch(new long[] { 0, 0 }, batch);
        Assert.Equal(new[] { 257, 97, 258, 257, 97, 258 }, batch.Inputs);
    }

    [Fact]
    public void EpochOrder_IsAPermutation_SeededAndDifferentPerEpoch()
    {
        var a = PretrainBatches.EpochOrder(1000, 42, 0);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), a.Order());
        Assert.Equal(a, PretrainBatches.EpochOrder(1000, 42, 0));
        Assert.NotEqual(a, PretrainBatches.EpochOrder(1000, 42, 1));
        Assert.NotEqual(a, PretrainBatches.EpochOrder(1000, 43, 0));
        Assert.NotEqual(Enumerable.Range(0, 1000).Select(i => (long)i), a);
    }
}

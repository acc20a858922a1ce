namespace Minimind.Model.Data;

/// <summary>Assembles <see cref="Batch"/>es from an <see cref="IPretrainSource"/>.</summary>
public static class PretrainBatches
{
    /// <summary>A new batch holding samples <paramref name="indices"/> in order (row b = sample indices[b]).</summary>
    public static Batch CreateBatch(this IPretrainSource source, ReadOnlySpan<long> indices)
    {
        int t = source.SeqLen;
        var inputs = new int[indices.Length * t];
        var targets = new int[indices.Length * t];
        for (int b = 0; b < indices.Length; b++)
            source.Fill(indices[b], inputs.AsSpan(b * t, t), targets.AsSpan(b * t, t));
        return new Batch(indices.Length, t, inputs, targets);
    }

    /// <summary>Overwrites <paramref name="batch"/> (BatchSize = indices.Length, SeqLen = source.SeqLen) with samples <paramref name="indices"/>.</summary>
    public static void FillBatch(this IPretrainSource source, ReadOnlySpan<long> indices, Batch batch)
    {
        if (batch.BatchSize != indices.Length || batch.SeqLen != source.SeqLen)
            throw new ArgumentException($"batch is {batch.BatchSize}×{batch.SeqLen}, expected {indices.Length}×{source.SeqLen}");
        int t = source.SeqLen;
        for (int b = 0; b < indices.Length; b++)
            source.Fill(indices[b], batch.Inputs.AsSpan(b * t, t), batch.Targets.AsSpan(b * t, t));
    }

    /// <summary>
    /// The sample order of one epoch: a Fisher–Yates shuffle of 0..count−1 driven by a seeded generator, so a
    /// run (and a resumed run) sees the same order for the same (seed, epoch).
    /// </summary>
    public static long[] EpochOrder(long count, ulong seed, int epoch)
    {
        var order = new long[count];
        for (long i = 0; i < count; i++) order[i] = i;
        ulong state = seed ^ (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1));
        for (long i = count - 1; i > 0; i--)
        {
            // SplitMix64 step, then the high half of z·(i+1): an index in [0, i].
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            long j = (long)Math.BigMul(z, (ulong)(i + 1), out _);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}

namespace Minimind.Training;

/// <summary>
/// The sample order of each epoch: a Fisher–Yates shuffle driven by SplitMix64 seeded from
/// (seed, epoch), so the order of any epoch is a pure function of those two numbers and a resume
/// needs only the epoch and the position inside it (MiniMind likewise reseeds with 42 + epoch).
/// </summary>
public static class DataOrder
{
    /// <summary>The permutation of [0, count) used in <paramref name="epoch"/> of a run seeded with <paramref name="seed"/>.</summary>
    public static int[] Permutation(int count, long seed, int epoch)
    {
        var p = new int[count];
        for (int i = 0; i < count; i++) p[i] = i;
        ulong state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)epoch + 1) * 0xD1B54A32D192ED03UL);
        for (int i = count - 1; i > 0; i--)
        {
            // Rejecting draws below 2^64 mod bound keeps the modulo unbiased.
            ulong bound = (ulong)(i + 1);
            ulong threshold = (0UL - bound) % bound;
            ulong r;
            do r = SplitMix64(ref state); while (r < threshold);
            int j = (int)(r % bound);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>SplitMix64: advances <paramref name="state"/> and returns the next 64 random bits.</summary>
    public static ulong SplitMix64(ref ulong state) => Minimind.Model.Data.SplitMix64.Step(ref state);
}

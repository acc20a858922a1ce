namespace Minimind.Model.Data;

/// <summary>
/// SplitMix64: a tiny generator fixed forever, so generated data (the built-in corpus and conversations, SFT
/// augmentation choices) never changes between runtimes or machines (System.Random makes no such promise).
/// </summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // Multiply-shift range reduction: deterministic, negligible bias for these small ranges.
    public int Next(int n) => (int)((NextUInt64() >> 32) * (ulong)n >> 32);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

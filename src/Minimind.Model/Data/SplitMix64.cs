namespace Minimind.Model.Data;

/// <summary>
/// SplitMix64: a tiny generator fixed forever, so generated data (the built-in corpus and conversations, SFT
/// augmentation choices) and sampled tokens never change between runtimes or machines (System.Random makes no such
/// promise). Its whole state is one 64-bit integer (<see cref="State"/>): save it and a stream continues exactly.
/// </summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The generator's whole state; <c>new SplitMix64(State)</c> continues this stream exactly.</summary>
    public readonly ulong State => _state;

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => Step(ref _state);

    /// <summary>SplitMix64's step: advances <paramref name="state"/> and returns the next 64 random bits (the one
    /// definition: the data order's shuffle draws from it too).</summary>
    public static ulong Step(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n): multiply-shift range reduction, deterministic, negligible bias for small n.</summary>
    public int Next(int n) => (int)((NextUInt64() >> 32) * (ulong)n >> 32);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

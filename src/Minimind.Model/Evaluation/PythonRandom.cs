namespace Minimind.Model.Evaluation;

/// <summary>
/// Python's <c>random.Random</c> (CPython 3: Mersenne Twister MT19937), bit for bit for what lm-evaluation-harness's
/// few-shot sampler calls: seeding with an integer (<c>init_by_array</c> over its 32-bit words), <c>random()</c>,
/// <c>getrandbits</c>, <c>_randbelow</c> (rejection sampling on <c>n.bit_length()</c> bits) and <c>sample</c>, whose
/// two algorithms (a shrinking pool for small populations, a set of drawn indices for large ones) draw different
/// numbers. <c>random.Random(1234).sample(docs, k)</c> is <c>new PythonRandom(1234).Sample(docs.Count, k)</c>.
/// </summary>
public sealed class PythonRandom
{
    private const int N = 624, M = 397;
    private readonly uint[] _mt = new uint[N];
    private int _index = N + 1;

    /// <summary><c>random.Random(seed)</c> for an integer seed (its absolute value, as Python uses).</summary>
    public PythonRandom(long seed)
    {
        ulong n = seed < 0 ? (ulong)(-(seed + 1)) + 1 : (ulong)seed;
        // Python splits abs(seed) into 32-bit words, least significant first; 0 is one zero word.
        var key = n >> 32 != 0 ? new[] { (uint)n, (uint)(n >> 32) } : new[] { (uint)n };
        InitByArray(key);
    }

    private void InitGenrand(uint s)
    {
        _mt[0] = s;
        for (int i = 1; i < N; i++) _mt[i] = 1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i;
        _index = N;
    }

    private void InitByArray(uint[] key)
    {
        InitGenrand(19650218u);
        int i = 1, j = 0;
        for (int k = Math.Max(N, key.Length); k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j;
            i++; j++;
            if (i >= N) { _mt[0] = _mt[N - 1]; i = 1; }
            if (j >= key.Length) j = 0;
        }
        for (int k = N - 1; k > 0; k--)
        {
            _mt[i] = (_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941u)) - (uint)i;
            i++;
            if (i >= N) { _mt[0] = _mt[N - 1]; i = 1; }
        }
        _mt[0] = 0x80000000u;
    }

    /// <summary>The next 32-bit output (<c>genrand_uint32</c>).</summary>
    public uint NextUInt32()
    {
        if (_index >= N)
        {
            int kk;
            for (kk = 0; kk < N - M; kk++) _mt[kk] = _mt[kk + M] ^ Twist(_mt[kk], _mt[kk + 1]);
            for (; kk < N - 1; kk++) _mt[kk] = _mt[kk + (M - N)] ^ Twist(_mt[kk], _mt[kk + 1]);
            _mt[N - 1] = _mt[M - 1] ^ Twist(_mt[N - 1], _mt[0]);
            _index = 0;
        }
        uint y = _mt[_index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    private static uint Twist(uint a, uint b)
    {
        uint y = (a & 0x80000000u) | (b & 0x7fffffffu);
        return (y >> 1) ^ ((y & 1u) != 0 ? 0x9908b0dfu : 0u);
    }

    /// <summary><c>random()</c>: a double in [0, 1) from 53 random bits.</summary>
    public double NextDouble()
    {
        uint a = NextUInt32() >> 5, b = NextUInt32() >> 6;
        return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
    }

    /// <summary><c>getrandbits(k)</c> for 0 ≤ k ≤ 64: 32-bit words least significant first, the last one shifted down.</summary>
    public ulong GetRandBits(int k)
    {
        if (k is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(k), $"getrandbits({k}): only 0..64 bits are supported");
        if (k == 0) return 0;
        if (k <= 32) return NextUInt32() >> (32 - k);
        ulong low = NextUInt32();
        ulong high = NextUInt32() >> (64 - k);
        return low | (high << 32);
    }

    /// <summary><c>_randbelow(n)</c>: uniform in [0, n), by drawing <c>n.bit_length()</c> bits until below n.</summary>
    public long RandBelow(long n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"_randbelow({n}): n must be positive");
        int k = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n);
        ulong r = GetRandBits(k);
        while (r >= (ulong)n) r = GetRandBits(k);
        return (long)r;
    }

    /// <summary>
    /// <c>sample(range(n), k)</c>: k distinct indices of a population of n, in selection order. Python keeps a pool
    /// when n is at most the size of a small set (21, or 21 + 4^⌈log₄(3k)⌉ for k &gt; 5) and a set of drawn indices
    /// otherwise; both are reproduced because they consume the generator differently.
    /// </summary>
    public int[] Sample(int n, int k)
    {
        if (k < 0 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"sample of {k} from a population of {n}: sample larger than population or is negative");
        var result = new int[k];
        long setSize = 21;
        if (k > 5) setSize += (long)Math.Pow(4, Math.Ceiling(Math.Log(k * 3.0) / Math.Log(4.0)));
        if (n <= setSize)
        {
            var pool = new int[n];
            for (int i = 0; i < n; i++) pool[i] = i;
            for (int i = 0; i < k; i++)
            {
                int j = (int)RandBelow(n - i);
                result[i] = pool[j];
                pool[j] = pool[n - i - 1];
            }
        }
        else
        {
            var selected = new HashSet<int>();
            for (int i = 0; i < k; i++)
            {
                int j = (int)RandBelow(n);
                while (!selected.Add(j)) j = (int)RandBelow(n);
                result[i] = j;
            }
        }
        return result;
    }
}

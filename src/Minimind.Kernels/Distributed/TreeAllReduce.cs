using System.Runtime.InteropServices;

namespace Minimind.Kernels.Distributed;

/// <summary>
/// Sums one float vector across ranks in a fixed tree order and leaves the sum on every rank.
/// <para>
/// W a power of two: recursive halving (reduce-scatter; round k pairs rank r with r ⊕ 2^k and adds the
/// lower group's partial + the higher group's) then recursive doubling (all-gather, the rounds in
/// reverse). The combination order is the perfect binary tree over the ranks' contiguous subtrees, so
/// with each rank holding the pairwise sum of its own block of leaves the result is the pairwise sum of
/// all leaves, bit for bit what one process computes. Each rank sends 2·(W−1)/W of the vector.
/// </para>
/// <para>
/// Other W: the ranks above the largest power of two P first hand their vector to rank r − P (lower +
/// higher), the P core ranks run the tree, and the sum goes back. Deterministic at a fixed W, but not
/// the same tree as one process, so not bit-identical across world sizes.
/// </para>
/// Ranks at or above <c>presentRanks</c> hold no data (their blocks of leaves are past the end of the
/// epoch): their partials are skipped, not added as zeros, so the sign of a zero is kept exactly.
/// </summary>
public sealed class TreeAllReduce
{
    private readonly ICommunicator _c;
    private float[] _scratch = Array.Empty<float>();

    /// <summary>Bytes this rank sent in the last <see cref="Run"/>.</summary>
    public long BytesSent { get; private set; }

    /// <summary>A reducer over <paramref name="comm"/>.</summary>
    public TreeAllReduce(ICommunicator comm) => _c = comm;

    /// <summary>True when the cross-rank tree equals one process's pairwise tree (W a power of two).</summary>
    public static bool IsExactAcrossWorldSizes(int worldSize) => worldSize > 0 && (worldSize & (worldSize - 1)) == 0;

    /// <summary>
    /// Replaces <paramref name="data"/> (the same length on every rank) with the sum over ranks
    /// 0..<paramref name="presentRanks"/>−1 of their data, on every rank.
    /// </summary>
    public void Run(Span<float> data, int presentRanks)
    {
        BytesSent = 0;
        int w = _c.Size, r = _c.Rank;
        if (w == 1) return;
        int p = 1;
        while (p * 2 <= w) p *= 2;
        if (_scratch.Length < data.Length) _scratch = new float[data.Length];
        var scratch = _scratch.AsSpan(0, data.Length);
        if (r >= p)
        {
            // An extra rank: hand my vector to my core partner, get the sum back.
            Send(data, r - p, scratch[..0], r - p);
            Send(ReadOnlySpan<float>.Empty, r - p, data, r - p);
            return;
        }
        if (r + p < w)
        {
            Send(ReadOnlySpan<float>.Empty, r + p, scratch, r + p);
            if (r + p < presentRanks) Add(data, scratch, data);     // lower (mine) + higher (the extra's)
        }
        // A core rank's subtree is present when its lowest original rank (itself) is.
        int len = data.Length, lo = 0, hi = len;
        Span<int> los = stackalloc int[32], his = stackalloc int[32];
        int depth = 0;
        for (int d = 1; d < p; d <<= 1, depth++)
        {
            int partner = r ^ d, mid = lo + (hi - lo) / 2;
            bool lower = (r & d) == 0;
            int baseRank = r & ~(2 * d - 1);
            bool higherPresent = baseRank + d < presentRanks;
            int kLo = lower ? lo : mid, kHi = lower ? mid : hi;
            int gLo = lower ? mid : lo, gHi = lower ? hi : mid;
            var recv = scratch.Slice(kLo, kHi - kLo);
            Send(data.Slice(gLo, gHi - gLo), partner, recv, partner);
            var keep = data.Slice(kLo, kHi - kLo);
            if (lower) { if (higherPresent) Add(keep, recv, keep); }           // mine is the lower subtree
            else if (!higherPresent) recv.CopyTo(keep);                         // mine is absent
            else Add(recv, keep, keep);                                         // theirs (lower) + mine (higher)
            los[depth] = lo; his[depth] = hi;
            lo = kLo; hi = kHi;
        }
        for (int d = p >> 1; d >= 1; d >>= 1)
        {
            depth--;
            int partner = r ^ d, plo = los[depth], phi = his[depth];
            // The partner holds the other half of [plo, phi): send mine, receive theirs in place.
            int oLo = lo == plo ? hi : plo, oHi = lo == plo ? phi : lo;
            Send(data.Slice(lo, hi - lo), partner, data.Slice(oLo, oHi - oLo), partner);
            lo = plo; hi = phi;
        }
        if (r + p < w) Send(data, r + p, scratch[..0], r + p);
    }

    private void Send(ReadOnlySpan<float> send, int dest, Span<float> recv, int source)
    {
        _c.SendRecv(MemoryMarshal.AsBytes(send), dest, MemoryMarshal.AsBytes(recv), source);
        BytesSent += (long)send.Length * sizeof(float);
    }

    // y = a + b elementwise: the operand order is written out even though IEEE addition commutes.
    private static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var va = MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(a);
            var vb = MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(b);
            var vy = MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(y);
            for (int k = 0; k < vy.Length && k < va.Length && k < vb.Length; k++) vy[k] = va[k] + vb[k];
            i = Math.Min(vy.Length, Math.Min(va.Length, vb.Length)) * System.Numerics.Vector<float>.Count;
        }
        for (; i < y.Length; i++) y[i] = a[i] + b[i];
    }
}

namespace Minimind.Kernels.Distributed;

/// <summary>A range of one of the two vectors a <see cref="TreeSchedule"/> works on: the data or the scratch vector.</summary>
public readonly record struct TreeRegion(bool Scratch, long Offset, long Length)
{
    /// <summary>[offset, offset+length) of the data vector.</summary>
    public static TreeRegion Data(long offset, long length) => new(false, offset, length);
    /// <summary>[offset, offset+length) of the scratch vector.</summary>
    public static TreeRegion Temp(long offset, long length) => new(true, offset, length);
}

/// <summary>
/// What <see cref="TreeSchedule"/> needs from a transport: a paired exchange with one peer, y = a + b and a
/// copy. The host transport uses MPI and a CPU loop, the device one NCCL send/recv and the backend's Add;
/// the schedule (so the summation order) is the same for both.
/// </summary>
public interface ITreeTransport
{
    /// <summary>Sends <paramref name="send"/> to <paramref name="dest"/> while receiving <paramref name="recv"/> from <paramref name="source"/> (either may be empty).</summary>
    void Exchange(TreeRegion send, int dest, TreeRegion recv, int source);
    /// <summary>y = a + b elementwise, operands in this order (equal lengths; y may alias a or b).</summary>
    void Add(TreeRegion y, TreeRegion a, TreeRegion b);
    /// <summary>dst = src (equal lengths).</summary>
    void Copy(TreeRegion dst, TreeRegion src);
}

/// <summary>
/// The one recursive halving/doubling schedule of the cross-rank gradient sum (see <see cref="TreeAllReduce"/>
/// for the order it defines), written against <see cref="ITreeTransport"/> so host and device share it.
/// The scratch vector must be as long as the data vector.
/// </summary>
public static class TreeSchedule
{
    /// <summary>Runs rank <paramref name="rank"/>'s part of the sum over ranks 0..<paramref name="presentRanks"/>−1; returns the bytes it sent.</summary>
    public static long Run(ITreeTransport t, int rank, int size, long length, int presentRanks)
    {
        long sent = 0;
        void X(TreeRegion s, int dest, TreeRegion rcv, int src) { t.Exchange(s, dest, rcv, src); sent += s.Length * sizeof(float); }
        int w = size, r = rank;
        if (w == 1) return 0;
        int p = 1;
        while (p * 2 <= w) p *= 2;
        var none = TreeRegion.Temp(0, 0);
        var all = TreeRegion.Data(0, length);
        if (r >= p)
        {
            // An extra rank: hand my vector to my core partner, get the sum back.
            X(all, r - p, none, r - p);
            X(TreeRegion.Data(0, 0), r - p, all, r - p);
            return sent;
        }
        if (r + p < w)
        {
            X(TreeRegion.Data(0, 0), r + p, TreeRegion.Temp(0, length), r + p);
            if (r + p < presentRanks) t.Add(all, all, TreeRegion.Temp(0, length));   // lower (mine) + higher (the extra's)
        }
        // A core rank's subtree is present when its lowest original rank (itself) is.
        long lo = 0, hi = length;
        Span<long> los = stackalloc long[32], his = stackalloc long[32];
        int depth = 0;
        for (int d = 1; d < p; d <<= 1, depth++)
        {
            int partner = r ^ d;
            long mid = lo + (hi - lo) / 2;
            bool lower = (r & d) == 0;
            int baseRank = r & ~(2 * d - 1);
            bool higherPresent = baseRank + d < presentRanks;
            long kLo = lower ? lo : mid, kHi = lower ? mid : hi;
            long gLo = lower ? mid : lo, gHi = lower ? hi : mid;
            var recv = TreeRegion.Temp(kLo, kHi - kLo);
            X(TreeRegion.Data(gLo, gHi - gLo), partner, recv, partner);
            var keep = TreeRegion.Data(kLo, kHi - kLo);
            if (lower) { if (higherPresent) t.Add(keep, keep, recv); }        // mine is the lower subtree
            else if (!higherPresent) t.Copy(keep, recv);                        // mine is absent
            else t.Add(keep, recv, keep);                                       // theirs (lower) + mine (higher)
            los[depth] = lo; his[depth] = hi;
            lo = kLo; hi = kHi;
        }
        for (int d = p >> 1; d >= 1; d >>= 1)
        {
            depth--;
            int partner = r ^ d;
            long plo = los[depth], phi = his[depth];
            // The partner holds the other half of [plo, phi): send mine, receive theirs in place.
            long oLo = lo == plo ? hi : plo, oHi = lo == plo ? phi : lo;
            X(TreeRegion.Data(lo, hi - lo), partner, TreeRegion.Data(oLo, oHi - oLo), partner);
            lo = plo; hi = phi;
        }
        if (r + p < w) X(all, r + p, none, r + p);
        return sent;
    }
}

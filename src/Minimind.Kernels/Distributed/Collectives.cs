using System.Runtime.InteropServices;

namespace Minimind.Kernels.Distributed;

/// <summary>Small collectives over <see cref="ICommunicator.SendRecv"/> (each inherits its timeout).</summary>
public static class Collectives
{
    /// <summary>Returns once every rank has called it (dissemination barrier: ⌈log₂ W⌉ rounds of one byte).</summary>
    public static void Barrier(ICommunicator c)
    {
        Span<byte> s = stackalloc byte[1], r = stackalloc byte[1];
        for (int d = 1; d < c.Size; d <<= 1)
            c.SendRecv(s, (c.Rank + d) % c.Size, r, (c.Rank - d + c.Size) % c.Size);
    }

    /// <summary>
    /// Every rank contributes <paramref name="mine"/> (the same length on all ranks); returns all
    /// contributions concatenated in rank order (ring: W − 1 rounds).
    /// </summary>
    public static byte[] AllGather(ICommunicator c, ReadOnlySpan<byte> mine)
    {
        int n = mine.Length, w = c.Size, r = c.Rank;
        var all = new byte[(long)n * w];
        mine.CopyTo(all.AsSpan(r * n, n));
        int next = (r + 1) % w, prev = (r - 1 + w) % w;
        for (int k = 0; k < w - 1; k++)
        {
            int sendBlock = (r - k + w) % w, recvBlock = (r - k - 1 + w) % w;
            c.SendRecv(all.AsSpan(sendBlock * n, n), next, all.AsSpan(recvBlock * n, n), prev);
        }
        return all;
    }

    /// <summary><see cref="AllGather(ICommunicator, ReadOnlySpan{byte})"/> for floats.</summary>
    public static float[] AllGather(ICommunicator c, ReadOnlySpan<float> mine) =>
        MemoryMarshal.Cast<byte, float>(AllGather(c, MemoryMarshal.AsBytes(mine))).ToArray();

    /// <summary>
    /// Every rank's <paramref name="mine"/> (any length) on rank <paramref name="root"/>, in rank order; null on the other
    /// ranks. The lengths are all-gathered first, then each rank sends its bytes to the root in turn.
    /// </summary>
    public static byte[][]? Gather(ICommunicator c, byte[] mine, int root)
    {
        if (c.Size == 1) return new[] { mine };
        var lengths = AllGather(c, BitConverter.GetBytes((long)mine.Length));
        if (c.Rank != root)
        {
            c.SendRecv(mine, root, Span<byte>.Empty, root);
            return null;
        }
        var all = new byte[c.Size][];
        for (int r = 0; r < c.Size; r++)
        {
            if (r == root) { all[r] = mine; continue; }
            all[r] = new byte[checked((int)BitConverter.ToInt64(lengths, 8 * r))];
            c.SendRecv(ReadOnlySpan<byte>.Empty, r, all[r], r);
        }
        return all;
    }

    /// <summary>Rank <paramref name="root"/>'s bytes on every rank (the length must be known to all).</summary>
    public static void Broadcast(ICommunicator c, Span<byte> data, int root)
    {
        // Binomial tree rooted at 'root', in ranks relative to it.
        int w = c.Size, rel = (c.Rank - root + w) % w;
        int mask = 1;
        while (mask < w)
        {
            if ((rel & mask) != 0) { c.SendRecv(ReadOnlySpan<byte>.Empty, (rel - mask + root) % w, data, (rel - mask + root) % w); break; }
            mask <<= 1;
        }
        for (mask >>= 1; mask > 0; mask >>= 1)
            if (rel + mask < w)
                c.SendRecv(data, (rel + mask + root) % w, Span<byte>.Empty, (rel + mask + root) % w);
    }
}

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

using System.Security.Cryptography;
using System.Text;
using Minimind.Kernels.Distributed;

namespace Minimind.Training.Distributed;

/// <summary>
/// The start-up check that every rank runs the same job: each rank hashes each named field of its
/// configuration and data (flags, architecture, data fingerprint, initial weights, resume point); the
/// hashes are gathered and compared with rank 0's, and all ranks refuse together, naming the first field
/// that differs, before the first step.
/// </summary>
public static class RankAgreement
{
    /// <summary>Throws an <see cref="MpiException"/> naming the field and the rank when any rank differs from rank 0.</summary>
    public static void Check(ICommunicator c, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        if (c.Size == 1) return;
        var counts = Collectives.AllGather(c, BitConverter.GetBytes(fields.Count));
        for (int r = 1; r < c.Size; r++)
            if (BitConverter.ToInt32(counts, 4 * r) != fields.Count || BitConverter.ToInt32(counts, 0) != fields.Count)
                throw new MpiException($"rank {r} runs a different build or command (it checks {BitConverter.ToInt32(counts, 4 * r)} fields, rank 0 checks {BitConverter.ToInt32(counts, 0)}); every rank must run the same minimind with the same arguments");
        var mine = new byte[fields.Count * 8];
        for (int i = 0; i < fields.Count; i++)
            SHA256.HashData(Encoding.UTF8.GetBytes(fields[i].Key + "\0" + fields[i].Value)).AsSpan(0, 8).CopyTo(mine.AsSpan(i * 8));
        var all = Collectives.AllGather(c, mine);
        for (int i = 0; i < fields.Count; i++)
            for (int r = 1; r < c.Size; r++)
                if (!all.AsSpan(r * mine.Length + i * 8, 8).SequenceEqual(all.AsSpan(i * 8, 8)))
                    throw new MpiException($"rank {r} was started with a different {fields[i].Key} than rank 0 (this is rank {c.Rank}, its {fields[i].Key} is '{fields[i].Value}'); " +
                        "every rank must get the same arguments and data: refusing before the first step");
    }

    /// <summary>A short hash of float data, for fingerprints (initial weights).</summary>
    public static string HashOf(ReadOnlySpan<float> data) => Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data)))[..16];

    /// <summary>A short hash of token ids (data fingerprints).</summary>
    public static string HashOf(ReadOnlySpan<int> data) => Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data)))[..16];
}

using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Minimind.Training.Stages;

namespace Minimind.Training;

/// <summary>
/// What a run's data is, by content: the SHA-256 of every sample's rows (inputs and targets, both rows of a DPO pair)
/// in index order, so other rows — or the same rows in another order, which changes every epoch's batches — give
/// another hash; and the largest token id, checked against the model's vocabulary before the first step.
/// </summary>
public static class DataFingerprint
{
    private const int Chunk = 256; // samples per batch read

    /// <summary>The hash (<c>sha256:…</c>, 64 hex digits) and the largest token id (inputs and targets) of <paramref name="stage"/>'s samples.</summary>
    public static (string Hash, int MaxId) Of(ITrainingStage stage)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int max = -1;
        var samples = new int[Chunk];
        for (long first = 0; first < stage.Count; first += Chunk)
        {
            int n = (int)Math.Min(Chunk, stage.Count - first);
            for (int i = 0; i < n; i++) samples[i] = checked((int)(first + i));
            var b = stage.CreateBatch(samples.AsSpan(0, n));
            sha.AppendData(MemoryMarshal.AsBytes(b.Inputs.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(b.Targets.AsSpan()));
            foreach (int id in b.Inputs) if (id > max) max = id;
            foreach (int id in b.Targets) if (id > max) max = id;
        }
        return ("sha256:" + Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant(), max);
    }
}

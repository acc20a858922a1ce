using System.Security.Cryptography;

namespace Minimind.Checkpoint.Resume;

/// <summary>A write-only stream that forwards to an inner stream and hashes (SHA-256) and counts every byte.</summary>
internal sealed class HashingWriteStream(Stream inner) : WriteOnlyStream(inner)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>The SHA-256 of everything written (call once, at the end).</summary>
    public byte[] FinishHash() => _hash.GetHashAndReset();

    protected override void OnWrite(ReadOnlySpan<byte> buffer)
    {
        Inner.Write(buffer);
        _hash.AppendData(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}

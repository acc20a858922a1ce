using System.Security.Cryptography;

namespace Minimind.Cli.Commands;

/// <summary>Content hashes of weight files a run reads on every start (so a resume can refuse a changed one).</summary>
internal static class FileHashes
{
    /// <summary>Lower-case hex SHA-256 of a file, or of a folder's files (relative names and contents, in ordinal order).</summary>
    public static string Sha256(string path)
    {
        if (File.Exists(path))
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return Convert.ToHexStringLower(SHA256.HashData(fs));
        }
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in Directory.GetFiles(path, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            h.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(path, f) + "\0"));
            h.AppendData(Convert.FromHexString(Sha256(f)));
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }
}

namespace Minimind.Checkpoint;

/// <summary>Free-space check before a save: refuse early, with the numbers, rather than fill the disk half-way.</summary>
public static class DiskSpace
{
    /// <summary>Bytes available to this process on the filesystem holding <paramref name="folder"/>, or null when the system cannot say.</summary>
    public static long? Available(string folder)
    {
        try
        {
            var full = Path.GetFullPath(folder);
            while (!Directory.Exists(full)) full = Path.GetDirectoryName(full) ?? throw new DirectoryNotFoundException(folder);
            return new DriveInfo(full).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return null; }
    }

    /// <summary>
    /// Throws an IOException naming <paramref name="folder"/>, the bytes needed and the bytes free when fewer than
    /// <paramref name="needed"/> bytes are free there (a save writes its new files before the old ones go).
    /// </summary>
    public static void Require(string folder, long needed, string what)
    {
        if (needed <= 0 || Available(folder) is not { } free || free >= needed) return;
        throw new IOException($"not enough free space in {Path.GetFullPath(folder)} for {what}: about {Mb(needed)} needed, {Mb(free)} free. " +
            "Nothing was written; the previous checkpoint is intact. Free some space (or lower --keep-last) and continue with --resume.");
    }

    private static string Mb(long b) => b >= 10L << 20 ? $"{b >> 20:N0} MiB" : $"{b / 1024.0:N1} KiB";
}

namespace Minimind.Checkpoint;

/// <summary>
/// Replaces a file atomically: writes a temporary file in the same folder, flushes and fsyncs it,
/// renames it over the target, then fsyncs the folder. A failure before the rename deletes the temporary
/// file, leaves the previous file untouched and throws an IOException naming the path; once the rename has
/// happened nothing is thrown (a failing folder fsync is reported through <see cref="Durability.Warn"/>).
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; throws an IOException naming the path on failure.
    /// <paramref name="sizeHint"/> (bytes, 0 = unknown) preallocates the file so a full disk fails before any data is written
    /// and the filesystem lays the file out in few extents.</summary>
    public static void Write(string path, Action<Stream> write, long sizeHint = 0) => Write(path, write, sizeHint, directIo: true);

    /// <summary>As above; <paramref name="directIo"/> false keeps the file in the buffered path (tests compare both).</summary>
    internal static void Write(string path, Action<Stream> write, long sizeHint, bool directIo)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? throw new IOException($"cannot write {path}: it has no parent folder");
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"cannot write {path}: folder {dir} does not exist");
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..8]}.tmp");
        try
        {
            using (var fs = DurableFileStream.CreateNew(tmp, sizeHint, 1 << 16, directIo))
            {
                write(fs);
                fs.FlushToDisk();
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException)
                throw new IOException($"could not write {path}: {e.Message} (the previous file, if any, is unchanged)", e);
            throw;
        }
        // The rename happened: the new file is in place, so a failure now must not claim the old one is intact.
        SyncAfterRename(dir, path);
    }

    /// <summary>fsync of <paramref name="dir"/> after a rename into it: a failure is reported through <see cref="Durability.Warn"/>
    /// (the new content is complete and fsynced; only the durability of its name is in doubt), never thrown.</summary>
    internal static void SyncAfterRename(string dir, string path)
    {
        try { DirectorySync.Sync(dir); } // the rename is durable only once the folder entry is on disk
        catch (IOException e) { Durability.Warn($"{path} was written, but {e.Message}; a power cut may bring back the previous version"); }
    }
}

using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>
/// Replaces a file atomically: writes a temporary file in the same folder, flushes and fsyncs it,
/// renames it over the target, then fsyncs the folder. A failure at any point deletes the temporary
/// file and leaves the previous file untouched.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; throws an IOException naming the path on failure.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? throw new IOException($"cannot write {path}: it has no parent folder");
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"cannot write {path}: folder {dir} does not exist");
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..8]}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
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
        SyncDirectory(dir);
    }

    // The rename is durable only once the folder entry is on disk.
    private static void SyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = open(dir, 0 /* O_RDONLY */);
        if (fd < 0) return;
        fsync(fd);
        close(fd);
    }

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int close(int fd);
}

using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>fsync of a folder: a rename or new entry is durable only once its folder is on disk.</summary>
internal static class DirectorySync
{
    /// <summary>Flushes the folder's entries to disk (Linux; a no-op elsewhere, where the OS offers no equivalent).</summary>
    public static void Sync(string dir)
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

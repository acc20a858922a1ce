using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>
/// fsync of a folder: a rename or new entry is durable only once its folder is on disk. The C library is
/// resolved at run time (glibc's <c>libc.so.6</c>, musl's loader, or plain <c>libc</c>), so a system without
/// <c>libc.so.6</c> neither crashes nor silently skips: <see cref="Sync"/> throws an IOException naming the
/// folder when open or fsync fails, and where no C library offers them it reports that once through
/// <see cref="Durability.Warn"/> (the data files themselves are still fsynced by .NET).
/// </summary>
internal sealed unsafe class DirectorySync
{
    /// <summary>The C libraries tried, in order.</summary>
    public static readonly string[] DefaultLibraries = { "libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc" };

    private static readonly Lazy<DirectorySync> Default = new(() => new DirectorySync(OperatingSystem.IsLinux() ? DefaultLibraries : Array.Empty<string>()));

    private readonly delegate* unmanaged<byte*, int, int> _open;
    private readonly delegate* unmanaged<int, int> _fsync;
    private readonly delegate* unmanaged<int, int> _close;
    private int _warned;

    /// <summary>True when open/fsync/close were found.</summary>
    public bool Available { get; }
    /// <summary>The library that provided them, or null.</summary>
    public string? Library { get; }

    /// <summary>Resolves open/fsync/close from the first of <paramref name="libraries"/> that loads and exports all three.</summary>
    public DirectorySync(IEnumerable<string> libraries)
    {
        foreach (var lib in libraries)
        {
            if (!NativeLibrary.TryLoad(lib, out var h)) continue;
            if (NativeLibrary.TryGetExport(h, "open", out var o) && NativeLibrary.TryGetExport(h, "fsync", out var f) && NativeLibrary.TryGetExport(h, "close", out var c))
            {
                _open = (delegate* unmanaged<byte*, int, int>)o; _fsync = (delegate* unmanaged<int, int>)f; _close = (delegate* unmanaged<int, int>)c;
                Available = true; Library = lib;
                return;
            }
        }
    }

    /// <summary>Flushes the folder's entries to disk with the process-wide resolver (a no-op off Linux, where the OS offers no equivalent).</summary>
    public static void Sync(string dir) => Default.Value.SyncFolder(dir);

    /// <summary>Flushes <paramref name="dir"/>'s entries (where no C library was found, says so once through <paramref name="warn"/>,
    /// default <see cref="Durability.Warn"/>); throws an IOException naming it when the system reports a failure.</summary>
    public void SyncFolder(string dir, Action<string>? warn = null)
    {
        if (!Available)
        {
            if (OperatingSystem.IsLinux() && Interlocked.Exchange(ref _warned, 1) == 0)
                (warn ?? Durability.Warn)($"no C library with fsync found (tried {string.Join(", ", DefaultLibraries)}): folder entries such as {dir} are not fsynced; a power cut may lose the last rename");
            return;
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(dir + "\0");
        int fd;
        fixed (byte* p = bytes) fd = _open(p, 0 /* O_RDONLY; O_DIRECTORY differs between architectures */);
        if (fd < 0) throw new IOException($"cannot open folder {dir} to fsync it: {Errno(Marshal.GetLastSystemError())}");
        int rc = _fsync(fd);
        int err = Marshal.GetLastSystemError();
        _close(fd);
        // EINVAL: the filesystem does not support fsync on folders (some FUSE/network ones); nothing more can be done there.
        if (rc != 0 && err != 22) throw new IOException($"fsync of folder {dir} failed: {Errno(err)}");
    }

    private static string Errno(int e) => $"{Marshal.GetPInvokeErrorMessage(e)} (errno {e})";
}

/// <summary>Where the checkpoint writers report durability problems that happen after a file is already in place.</summary>
public static class Durability
{
    /// <summary>Receives one sentence per problem; the default prints <c>warning: ...</c> to stderr.</summary>
    public static Action<string> Warn { get; set; } = msg => Console.Error.WriteLine("warning: " + msg);
}

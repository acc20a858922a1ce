using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Minimind.Checkpoint;

/// <summary>
/// Writes a new file with O_DIRECT (Linux): bytes are gathered in an aligned staging buffer of <see cref="StagingBytes"/>
/// and each full buffer goes from there straight to the device, skipping the kernel's copy into the page cache (on this
/// project's box that copy and its page-cache bookkeeping were most of the background checkpoint writer's CPU). Two
/// buffers take turns: one is filled while the other's write runs on the thread pool, so producing the bytes and the
/// disk overlap as they do on the buffered path. The tail is written padded to a whole <see cref="Alignment"/> block,
/// then the file is cut back to its exact length and fsynced, so the file holds exactly the bytes written, as the
/// buffered path would. A filesystem that turns an aligned O_DIRECT write down (EINVAL) gets the rest of the file
/// through the page cache on the same descriptor.
/// </summary>
internal sealed unsafe class DirectWriteStream : DurableFileStream
{
    /// <summary>Alignment of the buffer address, file offsets and lengths: 4096 satisfies 512- and 4096-byte logical blocks.</summary>
    public const int Alignment = 4096;

    /// <summary>Bytes per device write (each of the two buffers); a few MiB keeps the copy in cache and the syscalls few.</summary>
    public const int StagingBytes = 4 << 20;

    private const int FGetFl = 3, FSetFl = 4, EInval = 22;
    private static readonly int? ODirect = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,       // O_DIRECT in asm-generic and x86
        Architecture.Arm64 or Architecture.Arm => 0x10000,   // arm's own value
        _ => null,
    };
    private static nint _spare; // one pair of staging buffers kept between files (0 when in use or none yet)

    private readonly SafeFileHandle _handle;
    private byte* _pair;       // 2 * StagingBytes, aligned
    private byte* _staging;    // the half being filled
    private int _staged;       // bytes waiting in _staging
    private long _fileOffset;  // where _staging's first byte goes
    private Task? _inflight;   // the other half's write
    private volatile bool _direct = true;

    /// <summary>Writes through <paramref name="handle"/>, a new empty file already switched to O_DIRECT by <see cref="TryEnable"/>; owns it.</summary>
    public DirectWriteStream(SafeFileHandle handle) : base(Stream.Null) // nothing to flush early: whole blocks only reach the file
    {
        _handle = handle;
        _pair = (byte*)Interlocked.Exchange(ref _spare, 0);
        if (_pair == null) _pair = (byte*)NativeMemory.AlignedAlloc(2 * StagingBytes, Alignment);
        _staging = _pair;
    }

    /// <summary>The file written (tests read its open flags from /proc).</summary>
    internal SafeFileHandle Handle => _handle;

    /// <summary>Switches <paramref name="handle"/> to O_DIRECT; false (and the handle unchanged) where the system or filesystem refuses.</summary>
    public static bool TryEnable(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux() || ODirect is not int direct) return false;
        try
        {
            int fd = (int)handle.DangerousGetHandle();
            int flags = fcntl(fd, FGetFl, 0);
            return flags >= 0 && fcntl(fd, FSetFl, flags | direct) == 0; // EINVAL: the filesystem has no direct I/O (ramfs, some FUSE)
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; } // no glibc (musl)
    }

    /// <inheritdoc/>
    protected override void OnWrite(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_pair == null, this);
        while (!buffer.IsEmpty)
        {
            int n = Math.Min(buffer.Length, StagingBytes - _staged);
            buffer[..n].CopyTo(new Span<byte>(_staging + _staged, n));
            _staged += n;
            buffer = buffer[n..];
            if (_staged == StagingBytes) WriteStaged(StagingBytes);
        }
    }

    /// <inheritdoc/>
    public override void FlushToDisk()
    {
        ObjectDisposedException.ThrowIf(_pair == null, this);
        if (_staged > 0)
        {
            int padded = (_staged + Alignment - 1) / Alignment * Alignment;
            new Span<byte>(_staging + _staged, padded - _staged).Clear();
            WriteStaged(padded);
        }
        WaitForWrite();
        // The padding (and any preallocation) goes: the file ends at the last byte written.
        if (RandomAccess.GetLength(_handle) != BytesWritten) RandomAccess.SetLength(_handle, BytesWritten);
        RandomAccess.FlushToDisk(_handle); // O_DIRECT bypasses the cache, not the need to make the size and extents durable
    }

    // Hands the first `length` bytes of the staging half (a multiple of Alignment) to a write at their place in the file,
    // once the other half's write has ended (its failure, a full disk, surfaces here), and fills the other half next.
    private void WriteStaged(int length)
    {
        WaitForWrite();
        byte* p = _staging;
        long offset = _fileOffset;
        _inflight = Task.Run(() => WriteAt(p, length, offset));
        _staging = _staging == _pair ? _pair + StagingBytes : _pair;
        _fileOffset += length;
        _staged = 0;
    }

    private void WaitForWrite()
    {
        var t = _inflight;
        _inflight = null;
        t?.GetAwaiter().GetResult();
    }

    private void WriteAt(byte* p, int length, long offset)
    {
        var bytes = new ReadOnlySpan<byte>(p, length);
        try { RandomAccess.Write(_handle, bytes, offset); }
        catch (IOException e) when (_direct && e.HResult == EInval)
        {
            // The filesystem accepted O_DIRECT but not this alignment: the rest goes through the page cache.
            _direct = false;
            int fd = (int)_handle.DangerousGetHandle();
            int flags = fcntl(fd, FGetFl, 0);
            if (flags < 0 || fcntl(fd, FSetFl, flags & ~ODirect!.Value) != 0) throw;
            RandomAccess.Write(_handle, bytes, offset);
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (_pair != null)
        {
            // A write still running reads the buffers: they are freed only after it (its failure was or will be reported by the caller's path).
            try { _inflight?.Wait(); } catch (AggregateException) { }
            _inflight = null;
            if (Interlocked.CompareExchange(ref _spare, (nint)_pair, 0) != 0) NativeMemory.AlignedFree(_pair);
            _pair = _staging = null;
        }
        if (disposing) _handle.Dispose();
        base.Dispose(disposing);
    }

    ~DirectWriteStream() => Dispose(false);

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int fcntl(int fd, int cmd, int arg);
}

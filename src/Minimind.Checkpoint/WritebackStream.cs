using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>
/// A write-only wrapper over a <see cref="FileStream"/> that asks the kernel to start writing each
/// completed window of <see cref="Window"/> bytes to disk while later bytes are still being produced
/// (Linux <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>). Without it every byte waits in the page cache
/// until the final fsync, so producing and writing happen one after the other; with it they overlap and
/// the fsync only waits for the tail. It is a hint: durability still comes from the caller's fsync, and
/// where the call is unavailable (other systems, odd filesystems) the stream simply passes bytes through.
/// The buffered path of <see cref="DurableFileStream.CreateNew"/>, where O_DIRECT is not available.
/// </summary>
internal sealed class WritebackStream : DurableFileStream
{
    /// <summary>Bytes per writeback request: on this project's disk 4 and 8 MiB windows tie and beat 32 MiB and waiting for older windows (tools/pth/probes/writeback_window.c).</summary>
    public const long Window = 8L << 20;

    private const uint SyncFileRangeWrite = 2; // SYNC_FILE_RANGE_WRITE: start writeback, do not wait
    private readonly FileStream _file;
    private readonly long _origin; // the file offset this stream's first byte goes to
    private long _submitted;       // bytes (from _origin) already handed to writeback
    private bool _enabled = OperatingSystem.IsLinux();

    /// <summary>Wraps <paramref name="file"/>, writing from its current position on; owns it.</summary>
    public WritebackStream(FileStream file) : base(file) { _file = file; _origin = file.Position; }

    /// <inheritdoc/>
    public override void FlushToDisk() => _file.Flush(flushToDisk: true);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _file.Dispose();
        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    protected override void OnWrite(ReadOnlySpan<byte> buffer)
    {
        _file.Write(buffer);
        long written = BytesWritten + buffer.Length;
        if (_enabled && written - _submitted >= Window) StartWriteback(written);
    }

    private void StartWriteback(long written)
    {
        _file.Flush(); // the FileStream's own buffer must reach the page cache before its range is submitted
        int fd = (int)_file.SafeFileHandle.DangerousGetHandle();
        try { if (sync_file_range(fd, _origin + _submitted, written - _submitted, SyncFileRangeWrite) != 0) _enabled = false; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _enabled = false; } // e.g. musl
        _submitted = written;
    }

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);
}

using System.Runtime.InteropServices;

namespace Minimind.Checkpoint;

/// <summary>
/// A write-only wrapper over a <see cref="FileStream"/> that asks the kernel to start writing each
/// completed window of <see cref="Window"/> bytes to disk while later bytes are still being produced
/// (Linux <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>). Without it every byte waits in the page cache
/// until the final fsync, so producing and writing happen one after the other; with it they overlap and
/// the fsync only waits for the tail. It is a hint: durability still comes from the caller's fsync, and
/// where the call is unavailable (other systems, odd filesystems) the stream simply passes bytes through.
/// </summary>
public sealed class WritebackStream : Stream
{
    /// <summary>Bytes per writeback request: on this project's disk 4 and 8 MiB windows tie and beat 32 MiB and waiting for older windows (tools/pth/probes/writeback_window.c).</summary>
    public const long Window = 8L << 20;

    private const uint SyncFileRangeWrite = 2; // SYNC_FILE_RANGE_WRITE: start writeback, do not wait
    private readonly FileStream _inner;
    private long _position, _started;
    private bool _enabled = OperatingSystem.IsLinux();

    /// <summary>Wraps <paramref name="inner"/>, which must be positioned at the start of a new file.</summary>
    public WritebackStream(FileStream inner) { _inner = inner; _position = inner.Position; _started = _position; }

    /// <summary>Bytes written through this stream, plus the inner stream's start position.</summary>
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    /// <inheritdoc/>
    public override long Length => _position;
    /// <inheritdoc/>
    public override bool CanRead => false;
    /// <inheritdoc/>
    public override bool CanSeek => false;
    /// <inheritdoc/>
    public override bool CanWrite => true;
    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();
    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _inner.Write(buffer);
        _position += buffer.Length;
        if (_enabled && _position - _started >= Window) StartWriteback();
    }

    private void StartWriteback()
    {
        _inner.Flush(); // the FileStream's own buffer must reach the page cache before its range is submitted
        int fd = (int)_inner.SafeFileHandle.DangerousGetHandle();
        try { if (sync_file_range(fd, _started, _position - _started, SyncFileRangeWrite) != 0) _enabled = false; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _enabled = false; } // e.g. musl
        _started = _position;
    }

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);
}

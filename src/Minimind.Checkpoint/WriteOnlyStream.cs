namespace Minimind.Checkpoint;

/// <summary>
/// A forward-only, write-only stream over another one, for wrappers that watch the bytes on their way to it
/// (hashing, writeback hints, tests' failure injection): it counts what passed and leaves each write to
/// <see cref="OnWrite"/>.
/// </summary>
internal abstract class WriteOnlyStream(Stream inner) : Stream
{
    /// <summary>The stream written to.</summary>
    protected Stream Inner => inner;

    /// <summary>Bytes written through this stream so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Passes <paramref name="buffer"/> on to <see cref="Inner"/> (and does the wrapper's own work).</summary>
    protected abstract void OnWrite(ReadOnlySpan<byte> buffer);

    /// <inheritdoc/>
    public sealed override void Write(ReadOnlySpan<byte> buffer)
    {
        OnWrite(buffer);
        BytesWritten += buffer.Length;
    }

    /// <inheritdoc/>
    public sealed override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    /// <inheritdoc/>
    public override bool CanRead => false;
    /// <inheritdoc/>
    public override bool CanSeek => false;
    /// <inheritdoc/>
    public override bool CanWrite => true;
    /// <inheritdoc/>
    public override long Length => BytesWritten;
    /// <inheritdoc/>
    public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }
    /// <inheritdoc/>
    public override void Flush() => inner.Flush();
    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();
}

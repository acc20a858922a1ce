using Microsoft.Win32.SafeHandles;

namespace Minimind.Checkpoint;

/// <summary>
/// The stream a checkpoint writer fills: a new file written forward only, made durable by one <see cref="FlushToDisk"/>
/// at the end (every byte written, the exact length, fsync). <see cref="CreateNew"/> picks how the bytes travel —
/// <see cref="DirectWriteStream"/> (O_DIRECT, no page-cache copy) where the filesystem accepts it, else today's buffered
/// <see cref="WritebackStream"/> — and the file's bytes are the same either way.
/// </summary>
internal abstract class DurableFileStream(Stream inner) : WriteOnlyStream(inner)
{
    /// <summary>Writes whatever is still buffered, gives the file exactly <see cref="WriteOnlyStream.BytesWritten"/> bytes and
    /// fsyncs it. Call once, after the last write; a stream disposed without it may leave the file short (callers delete it).</summary>
    public abstract void FlushToDisk();

    /// <summary>
    /// Creates <paramref name="path"/> (it must not exist) for writing. <paramref name="preallocationSize"/> (bytes, 0 = none)
    /// reserves the space first, so a full disk fails before any data is written; <paramref name="bufferSize"/> is the buffered
    /// path's FileStream buffer. With <paramref name="directIo"/> (the default; tests turn it off to compare both paths) the file
    /// is written with O_DIRECT when the system and filesystem accept it, silently buffered otherwise.
    /// </summary>
    public static DurableFileStream CreateNew(string path, long preallocationSize = 0, int bufferSize = 1 << 16, bool directIo = true)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, preallocationSize);
        try
        {
            if (directIo && DirectWriteStream.TryEnable(handle)) return new DirectWriteStream(handle);
            return new WritebackStream(new FileStream(handle, FileAccess.Write, bufferSize));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}

using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Minimind.Model.Data;

/// <summary>
/// Pretraining samples from a memory-mapped token file (format: <see cref="TokenFileHeader"/>). Sample i is
/// row i shifted by one (inputs = row[:-1], targets = row[1:] with pad → <see cref="Batch.IgnoreIndex"/>),
/// identical to what <see cref="JsonlPretrainSource"/> gives for the same text and tokenizer. Thread-safe reads.
/// </summary>
public sealed unsafe class TokenFilePretrainSource : IPretrainSource, IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    /// <summary>The header.</summary>
    public TokenFileHeader Header { get; }
    /// <summary>The file read.</summary>
    public string Path { get; }
    /// <inheritdoc/>
    public long Count => Header.Count;
    /// <inheritdoc/>
    public int SeqLen => Header.RowLength - 1;

    private TokenFilePretrainSource(string path, TokenFileHeader header, MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        Path = path; Header = header; _file = file; _view = view;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
        _base += _view.PointerOffset;
    }

    /// <summary>Opens and validates <paramref name="path"/>; errors name the file.</summary>
    public static TokenFilePretrainSource Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"token file not found: {path}", path);
        long length = new FileInfo(path).Length;
        var head = new byte[TokenFileHeader.Size];
        using (var fs = File.OpenRead(path)) fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var header = TokenFileHeader.Read(head, length, path);
        if (header.Count == 0) throw new InvalidDataException($"{path}: the token file holds no samples");
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            return new TokenFilePretrainSource(path, header, file, view);
        }
        catch { file.Dispose(); throw; }
    }

    /// <summary>The stored row of sample <paramref name="index"/> (max_seq_len tokens, before the shift).</summary>
    public void ReadRow(long index, Span<int> row)
    {
        if ((ulong)index >= (ulong)Count) throw new ArgumentOutOfRangeException(nameof(index), $"sample {index} of {Count} in {Path}");
        if (_base is null) throw new ObjectDisposedException(nameof(TokenFilePretrainSource));
        if (row.Length != Header.RowLength) throw new ArgumentException($"row must hold {Header.RowLength} ids");
        byte* p = _base + TokenFileHeader.Size + index * Header.RowBytes;
        // Little-endian on disk; every platform .NET runs this on is little-endian, checked below.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token files need a little-endian machine");
        if (Header.BytesPerToken == 2)
        {
            var src = new ReadOnlySpan<ushort>(p, row.Length);
            for (int i = 0; i < row.Length; i++) row[i] = src[i];
        }
        else MemoryMarshal.Cast<uint, int>(new ReadOnlySpan<uint>(p, row.Length)).CopyTo(row);
    }

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        int len = Header.RowLength;
        Span<int> row = len <= 4096 ? stackalloc int[len] : new int[len];
        ReadRow(index, row);
        PretrainRow.Shift(row, Header.PadId, inputs, targets);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_base is null) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _base = null;
        _view.Dispose();
        _file.Dispose();
    }
}

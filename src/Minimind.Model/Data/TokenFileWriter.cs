namespace Minimind.Model.Data;

/// <summary>
/// Writes a token file (<see cref="TokenFileHeader"/> describes the format) atomically: rows go to a temporary
/// file beside the target, <see cref="Commit"/> patches the row count and renames it into place. Disposing
/// without committing deletes the temporary file and leaves any existing target untouched.
/// </summary>
public sealed class TokenFileWriter : IDisposable
{
    private readonly string _path, _tmp;
    private readonly FileStream _stream;
    private readonly int _vocab, _rowLength, _bos, _eos, _pad, _bytesPerToken;
    private readonly int[] _row;
    private readonly byte[] _rowBytes;
    private long _count;
    private bool _done;

    /// <summary>Rows written so far.</summary>
    public long Count => _count;

    /// <summary>Starts a token file for rows of <paramref name="maxSeqLen"/> tokens.</summary>
    public TokenFileWriter(string path, int vocabSize, int maxSeqLen, int bosId, int eosId, int padId)
    {
        if (maxSeqLen < 3) throw new ArgumentException($"--max-seq-len {maxSeqLen} is too short (at least 3)");
        if (vocabSize <= 0) throw new ArgumentException($"vocab size {vocabSize} must be positive");
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _tmp = _path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        _vocab = vocabSize; _rowLength = maxSeqLen; _bos = bosId; _eos = eosId; _pad = padId;
        _bytesPerToken = TokenFileHeader.BytesPerTokenFor(vocabSize);
        _row = new int[maxSeqLen];
        _rowBytes = new byte[maxSeqLen * _bytesPerToken];
        _stream = new FileStream(_tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        _stream.Write(new byte[TokenFileHeader.Size]); // patched by Commit
    }

    /// <summary>Appends the row of one text (its ids are truncated to max_seq_len − 2).</summary>
    public void AddText(ReadOnlySpan<int> textIds)
    {
        if (_done) throw new InvalidOperationException("token file already committed");
        PretrainRow.Build(textIds, _bos, _eos, _pad, _row);
        for (int i = 0; i < _row.Length; i++)
        {
            int id = _row[i];
            if ((uint)id >= (uint)_vocab) throw new ArgumentException($"token id {id} is outside the vocab of {_vocab} (row {_count})");
            if (_bytesPerToken == 2) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(_rowBytes.AsSpan(2 * i), (ushort)id);
            else System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(_rowBytes.AsSpan(4 * i), (uint)id);
        }
        _stream.Write(_rowBytes);
        _count++;
    }

    /// <summary>Writes the header, flushes to disk and moves the file into place. Returns the header written.</summary>
    public TokenFileHeader Commit()
    {
        if (_done) throw new InvalidOperationException("token file already committed");
        var header = new TokenFileHeader(_bytesPerToken, _vocab, _rowLength, _count, _bos, _eos, _pad);
        var b = new byte[TokenFileHeader.Size];
        header.WriteTo(b);
        _stream.Position = 0;
        _stream.Write(b);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_tmp, _path, overwrite: true);
        _done = true;
        return header;
    }

    /// <summary>Closes the file; deletes the temporary file when <see cref="Commit"/> was not called.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _stream.Dispose();
        try { File.Delete(_tmp); } catch (IOException) { }
    }
}

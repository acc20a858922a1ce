using System.Buffers.Binary;
using System.Text;

namespace Minimind.Model.Data;

/// <summary>
/// Header of a pre-tokenized pretraining file (<c>minimind tokenize</c> writes it; <see cref="TokenFilePretrainSource"/>
/// memory-maps it). Little-endian, 64 bytes:
/// <code>
/// offset size  field
///  0      8    magic "MMTOKENS"
///  8      4    uint32 version (1)
/// 12      4    uint32 bytes per token: 2 (uint16) or 4 (uint32)
/// 16      4    uint32 vocab size of the tokenizer that wrote it
/// 20      4    uint32 row length = max_seq_len (samples have SeqLen = row length − 1)
/// 24      8    int64  row count
/// 32      4    int32  bos id
/// 36      4    int32  eos id
/// 40      4    int32  pad id
/// 44     20    reserved, zero
/// 64           rows: count × row length tokens; each row is [bos] + text ids (≤ row length − 2) + [eos] + pads
/// </code>
/// Fixed-length rows make sample i a single slice at 64 + i·rowLength·bytesPerToken.
/// </summary>
public readonly record struct TokenFileHeader(int BytesPerToken, int VocabSize, int RowLength, long Count, int BosId, int EosId, int PadId)
{
    /// <summary>Header size in bytes.</summary>
    public const int Size = 64;
    /// <summary>Current format version.</summary>
    public const uint Version = 1;
    private static ReadOnlySpan<byte> Magic => "MMTOKENS"u8;

    /// <summary>Bytes of one row.</summary>
    public long RowBytes => (long)RowLength * BytesPerToken;

    /// <summary>Smallest dtype that holds every id below <paramref name="vocabSize"/>.</summary>
    public static int BytesPerTokenFor(int vocabSize) => vocabSize <= 65536 ? 2 : 4;

    /// <summary>Serializes the header.</summary>
    public void WriteTo(Span<byte> b)
    {
        b[..Size].Clear();
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)BytesPerToken);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)VocabSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)RowLength);
        BinaryPrimitives.WriteInt64LittleEndian(b[24..], Count);
        BinaryPrimitives.WriteInt32LittleEndian(b[32..], BosId);
        BinaryPrimitives.WriteInt32LittleEndian(b[36..], EosId);
        BinaryPrimitives.WriteInt32LittleEndian(b[40..], PadId);
    }

    /// <summary>Parses and checks a header against the file length; errors name <paramref name="path"/>.</summary>
    public static TokenFileHeader Read(ReadOnlySpan<byte> b, long fileLength, string path)
    {
        if (b.Length < Size || !b[..8].SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a minimind token file (magic \"MMTOKENS\" missing); write one with 'minimind tokenize'");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]);
        if (version != Version) throw new InvalidDataException($"{path}: token file version {version} is not supported (expected {Version})");
        var h = new TokenFileHeader(
            (int)BinaryPrimitives.ReadUInt32LittleEndian(b[12..]), (int)BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            (int)BinaryPrimitives.ReadUInt32LittleEndian(b[20..]), BinaryPrimitives.ReadInt64LittleEndian(b[24..]),
            BinaryPrimitives.ReadInt32LittleEndian(b[32..]), BinaryPrimitives.ReadInt32LittleEndian(b[36..]), BinaryPrimitives.ReadInt32LittleEndian(b[40..]));
        if (h.BytesPerToken is not (2 or 4)) throw new InvalidDataException($"{path}: bytes per token {h.BytesPerToken} (expected 2 or 4)");
        if (h.VocabSize <= 0 || (h.BytesPerToken == 2 && h.VocabSize > 65536)) throw new InvalidDataException($"{path}: vocab size {h.VocabSize} does not fit {h.BytesPerToken}-byte tokens");
        if (h.RowLength < 3) throw new InvalidDataException($"{path}: row length {h.RowLength} (at least 3)");
        if (h.Count < 0) throw new InvalidDataException($"{path}: negative row count {h.Count}");
        foreach (var (name, id) in new[] { ("bos", h.BosId), ("eos", h.EosId), ("pad", h.PadId) })
            if (id < 0 || id >= h.VocabSize) throw new InvalidDataException($"{path}: {name} id {id} is outside the vocab of {h.VocabSize}");
        long expected = Size + h.Count * h.RowBytes;
        if (fileLength != expected)
            throw new InvalidDataException($"{path}: file is {fileLength} bytes but the header describes {h.Count} rows of {h.RowLength} tokens ({expected} bytes); truncated or corrupt");
        return h;
    }

    /// <summary>A readable summary.</summary>
    public override string ToString() =>
        $"{Count} rows × {RowLength} tokens, uint{8 * BytesPerToken}, vocab {VocabSize}, bos {BosId} eos {EosId} pad {PadId}";
}

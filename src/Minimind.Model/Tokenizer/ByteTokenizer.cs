using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// Byte-level fallback tokenizer for the built-in training run: ids 0–255 are the UTF-8 bytes of the text,
/// then pad=256, bos=257, eos=258 (<see cref="VocabSize"/> 259). By default Encode never produces the specials,
/// so <c>Decode(Encode(x)) == x</c> for every string without lone surrogates. The chat variant
/// (<see cref="ByteTokenizer(bool)"/> with <c>chatMarkers</c>) reads <c>&lt;|im_start|&gt;</c> and
/// <c>&lt;|im_end|&gt;</c> in text as bos and eos, as MiniMind's v3 tokenizer does its own two specials, so a
/// chat template can mark turns with single tokens.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    /// <summary>Text of bos in the chat variant.</summary>
    public const string ChatBos = "<|im_start|>";
    /// <summary>Text of eos in the chat variant.</summary>
    public const string ChatEos = "<|im_end|>";

    private static readonly byte[][] _bytes = BuildBytes(false), _chatBytes = BuildBytes(true);
    private readonly byte[][] _table;
    private readonly AddedTokenMatcher? _markers;

    /// <summary>The plain byte tokenizer.</summary>
    public ByteTokenizer() : this(false) { }

    /// <summary>With <paramref name="chatMarkers"/>, <c>&lt;|im_start|&gt;</c>/<c>&lt;|im_end|&gt;</c> encode to bos/eos and decode back to that text.</summary>
    public ByteTokenizer(bool chatMarkers)
    {
        ChatMarkers = chatMarkers;
        _table = chatMarkers ? _chatBytes : _bytes;
        _markers = chatMarkers ? new AddedTokenMatcher(new[] { (ChatBos, 257), (ChatEos, 258) }) : null;
    }

    /// <summary>True for the chat variant.</summary>
    public bool ChatMarkers { get; }

    /// <inheritdoc/>
    public int VocabSize => 259;
    /// <inheritdoc/>
    public int PadId => 256;
    /// <inheritdoc/>
    public int BosId => 257;
    /// <inheritdoc/>
    public int EosId => 258;

    // Specials decode to these markers unless skipped (the markers themselves encode as plain bytes).
    private static byte[][] BuildBytes(bool chat)
    {
        var t = new byte[259][];
        for (int b = 0; b < 256; b++) t[b] = new[] { (byte)b };
        t[256] = Encoding.UTF8.GetBytes("<pad>");
        t[257] = Encoding.UTF8.GetBytes(chat ? ChatBos : "<s>");
        t[258] = Encoding.UTF8.GetBytes(chat ? ChatEos : "</s>");
        return t;
    }

    /// <inheritdoc/>
    public int[] Encode(string text)
    {
        if (_markers is null) return EncodeBytes(text);
        var pieces = new List<(int Start, int Length, int Id)>();
        _markers.Split(text, 0, text.Length, pieces);
        var ids = new List<int>(text.Length);
        foreach (var (start, length, id) in pieces)
        {
            if (id >= 0) ids.Add(id);
            else ids.AddRange(EncodeBytes(text.Substring(start, length)));
        }
        return ids.ToArray();
    }

    private static int[] EncodeBytes(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length);
        foreach (int id in ids) bytes.AddRange(TokenBytes(id, skipSpecialTokens));
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <inheritdoc/>
    public ReadOnlySpan<byte> TokenBytes(int id, bool skipSpecialTokens = false)
    {
        if ((uint)id >= 259u) return default;
        if (skipSpecialTokens && id >= 256) return default;
        return _table[id];
    }

    /// <inheritdoc/>
    public bool IsSpecial(int id) => id is >= 256 and < 259;
}

using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// Byte-level fallback tokenizer for the built-in training run: ids 0–255 are the UTF-8 bytes of the text,
/// then pad=256, bos=257, eos=258 (<see cref="VocabSize"/> 259). Encode never produces the specials, so
/// <c>Decode(Encode(x)) == x</c> for every string without lone surrogates.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    private static readonly byte[][] _bytes = BuildBytes();

    /// <inheritdoc/>
    public int VocabSize => 259;
    /// <inheritdoc/>
    public int PadId => 256;
    /// <inheritdoc/>
    public int BosId => 257;
    /// <inheritdoc/>
    public int EosId => 258;

    // Specials decode to these markers unless skipped (the markers themselves encode as plain bytes).
    private static byte[][] BuildBytes()
    {
        var t = new byte[259][];
        for (int b = 0; b < 256; b++) t[b] = new[] { (byte)b };
        t[256] = Encoding.UTF8.GetBytes("<pad>");
        t[257] = Encoding.UTF8.GetBytes("<s>");
        t[258] = Encoding.UTF8.GetBytes("</s>");
        return t;
    }

    /// <inheritdoc/>
    public int[] Encode(string text)
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
        return _bytes[id];
    }

    /// <inheritdoc/>
    public bool IsSpecial(int id) => id is >= 256 and < 259;
}

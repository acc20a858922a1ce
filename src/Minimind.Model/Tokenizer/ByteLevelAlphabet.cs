namespace Minimind.Model.Tokenizer;

/// <summary>
/// GPT-2's reversible byte ↔ printable-character map used by HF ByteLevel: printable Latin-1 bytes
/// map to themselves, the other 68 bytes to U+0100.. in byte order, so every vocab string spells bytes.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] _byteToChar = BuildByteToChar();
    private static readonly short[] _charToByte = BuildCharToByte();

    /// <summary>The character that stands for <paramref name="b"/>.</summary>
    public static char ToChar(byte b) => _byteToChar[b];

    /// <summary>The byte <paramref name="c"/> stands for, or -1 when it is outside the alphabet.</summary>
    public static int ToByte(char c) => c < _charToByte.Length ? _charToByte[c] : -1;

    /// <summary>
    /// Bytes of a vocab or added-token string as HF's ByteLevel decoder sees them: when every character is
    /// in the alphabet, the bytes they stand for; otherwise the string's own UTF-8 bytes.
    /// </summary>
    public static byte[] DecodeToken(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            int b = ToByte(token[i]);
            if (b < 0) return System.Text.Encoding.UTF8.GetBytes(token);
            bytes[i] = (byte)b;
        }
        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + extra++);
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[_byteToChar[b]] = (short)b;
        return map;
    }
}

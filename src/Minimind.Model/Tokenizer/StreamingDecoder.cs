using System.Text;

namespace Minimind.Model.Tokenizer;

/// <summary>
/// Incremental detokenizer for streaming generation. Many byte-level tokens are fragments of a UTF-8
/// character (489 of MiniMind's 6,400), so bytes are accumulated and only complete text is returned;
/// an unfinished trailing sequence waits for the next token. The concatenation of every <see cref="Add(int)"/>
/// result and <see cref="Flush"/> equals <see cref="ITokenizer.Decode"/> of all ids.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<byte> _pending = new();

    /// <summary>Creates a decoder over <paramref name="tokenizer"/>.</summary>
    public StreamingDecoder(ITokenizer tokenizer, bool skipSpecialTokens = false)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Feeds one id; returns the text that became complete (often empty).</summary>
    public string Add(int id)
    {
        _pending.AddRange(_tokenizer.TokenBytes(id, _skipSpecialTokens));
        return TakeComplete();
    }

    /// <summary>Feeds several ids; returns the text that became complete.</summary>
    public string Add(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids) _pending.AddRange(_tokenizer.TokenBytes(id, _skipSpecialTokens));
        return TakeComplete();
    }

    /// <summary>Returns whatever is left (an unfinished sequence becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        var s = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending));
        _pending.Clear();
        return s;
    }

    private string TakeComplete()
    {
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
        int cut = IncompleteTailStart(span);
        if (cut == 0) return string.Empty;
        // Cutting before a lead byte is safe: no sequence before it can extend over a lead byte, so the
        // prefix decodes exactly as it would inside the whole byte string.
        var s = Encoding.UTF8.GetString(span[..cut]);
        _pending.RemoveRange(0, cut);
        return s;
    }

    /// <summary>
    /// Start of a trailing UTF-8 sequence that is well-formed so far but unfinished (it may still complete),
    /// or the length when there is none.
    /// </summary>
    public static int IncompleteTailStart(ReadOnlySpan<byte> b)
    {
        for (int back = 1; back <= 3 && back <= b.Length; back++)
        {
            int p = b.Length - back;
            byte lead = b[p];
            if (lead < 0x80) return b.Length;          // ASCII: nothing pending after it
            if (lead < 0xC0) continue;                 // continuation byte: look further back
            int need = lead switch { >= 0xC2 and <= 0xDF => 2, >= 0xE0 and <= 0xEF => 3, >= 0xF0 and <= 0xF4 => 4, _ => 0 };
            if (need == 0 || back >= need) return b.Length; // invalid lead, or the sequence is already complete
            // The bytes after the lead must fit the well-formed ranges (Unicode Table 3-7).
            for (int k = 1; k < back; k++)
            {
                byte c = b[p + k];
                byte lo = 0x80, hi = 0xBF;
                if (k == 1)
                {
                    if (lead == 0xE0) lo = 0xA0; else if (lead == 0xED) hi = 0x9F;
                    else if (lead == 0xF0) lo = 0x90; else if (lead == 0xF4) hi = 0x8F;
                }
                if (c < lo || c > hi) return b.Length;
            }
            return p;
        }
        return b.Length;
    }
}

namespace Minimind.Model.Tokenizer;

/// <summary>
/// Finds added tokens in text, leftmost-longest (HF's Aho-Corasick <c>LeftmostLongest</c>): at the first
/// position where any token starts, the longest token starting there wins.
/// </summary>
public sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;

    /// <summary>Builds the matcher over (content, id) pairs; empty contents are ignored.</summary>
    public AddedTokenMatcher(IEnumerable<(string Content, int Id)> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>True when there is nothing to match.</summary>
    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>
    /// Splits <paramref name="text"/> into pieces: (start, length, -1) for plain text and (start, length, id)
    /// for a matched token. Appends to <paramref name="pieces"/>.
    /// </summary>
    public void Split(string text, int start, int length, List<(int Start, int Length, int Id)> pieces)
    {
        int end = start + length, plain = start;
        for (int i = start; i < end; i++)
        {
            if (!_byFirstChar.TryGetValue(text[i], out var candidates)) continue;
            var rest = text.AsSpan(i, end - i);
            foreach (var (content, id) in candidates)
            {
                if (!rest.StartsWith(content, StringComparison.Ordinal)) continue;
                if (i > plain) pieces.Add((plain, i - plain, -1));
                pieces.Add((i, content.Length, id));
                i += content.Length - 1;
                plain = i + 1;
                break;
            }
        }
        if (end > plain) pieces.Add((plain, end - plain, -1));
    }
}

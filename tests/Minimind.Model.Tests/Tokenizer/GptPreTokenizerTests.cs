using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>Pre-token splits derived by hand from GPT-2's regex with Oniguruma's Unicode \s, \p{L}, \p{N}.</summary>
public sealed class GptPreTokenizerTests
{
    private static string[] Split(string s)
    {
        var pieces = new List<(int Start, int Length)>();
        GptPreTokenizer.Split(s, pieces);
        return pieces.Select(p => s.Substring(p.Start, p.Length)).ToArray();
    }

    [Theory]
    [InlineData("Hello world", new[] { "Hello", " world" })]
    [InlineData("a  b", new[] { "a", " ", " b" })]                              // \s+(?!\S) leaves the last space to " b"
    [InlineData("a   ", new[] { "a", "   " })]                                  // trailing run kept whole
    [InlineData("x\u3000\u3000y", new[] { "x", "\u3000", "\u3000", "y" })]     // only U+0020 is the optional prefix
    [InlineData("a\uFEFFb", new[] { "a", "\uFEFF", "b" })]                      // U+FEFF is not \s
    [InlineData("a\u0085b", new[] { "a", "\u0085", "b" })]                      // U+0085 is \s
    [InlineData("a\u001Fb", new[] { "a", "\u001F", "b" })]                      // U+001F is neither \s nor a letter
    [InlineData("\r\n\r\nx", new[] { "\r\n\r", "\n", "x" })]
    [InlineData("I'll don't 'S", new[] { "I", "'ll", " don", "'t", " '", "S" })]
    [InlineData("3.14 +42", new[] { "3", ".", "14", " +", "42" })]
    [InlineData("你好，世界！", new[] { "你好", "，", "世界", "！" })]
    [InlineData("a\U0001D400b \U00020000\U00020001", new[] { "a\U0001D400b", " \U00020000\U00020001" })] // astral letters are \p{L}
    [InlineData("Ⅻ½", new[] { "Ⅻ½" })]                                          // Nl and No are \p{N}
    [InlineData("!!'s", new[] { "!!'", "s" })]
    public void Split_MatchesHandDerivedPieces(string text, string[] expected) => Assert.Equal(expected, Split(text));

    [Fact]
    public void Split_CoversTheInputExactly()
    {
        const string s = "Mixed 中文 text\t\twith  emoji 👨‍👩‍👧 and numbers 123\u2028end ";
        Assert.Equal(s, string.Concat(Split(s)));
    }
}

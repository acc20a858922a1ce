using System.Text;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>The byte tokenizer and the streaming decoder's UTF-8 boundary logic (hand-derived cases).</summary>
public sealed class ByteTokenizerAndStreamingTests
{
    [Fact]
    public void ByteTokenizer_EncodesUtf8Bytes_AndRoundTrips()
    {
        var t = new ByteTokenizer();
        Assert.Equal(new[] { 104, 105, 0xE4, 0xBD, 0xA0 }, t.Encode("hi你"));
        Assert.Equal((259, 256, 257, 258), (t.VocabSize, t.PadId, t.BosId, t.EosId));
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(30);
            for (int k = 0; k < n; k++)
            {
                int cp = rng.Next(4) switch { 0 => rng.Next(0x20, 0x7F), 1 => rng.Next(0x80, 0xD800), 2 => rng.Next(0xE000, 0x10000), _ => rng.Next(0x10000, 0x110000) };
                sb.Append(char.ConvertFromUtf32(cp));
            }
            var s = sb.ToString();
            Assert.Equal(s, t.Decode(t.Encode(s)));
            Assert.Equal(s, BpeTokenizerReferenceTests.StreamOneByOne(t, t.Encode(s), skip: false));
        }
    }

    [Fact]
    public void ByteTokenizer_Specials_DecodeAsMarkers_OrAreSkipped()
    {
        var t = new ByteTokenizer();
        var ids = new[] { t.BosId, 97, t.EosId, t.PadId };
        Assert.Equal("<s>a</s><pad>", t.Decode(ids));
        Assert.Equal("a", t.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(new[] { 60, 115, 62 }, t.Encode("<s>")); // markers in text stay plain bytes
    }

    [Fact]
    public void Streaming_HoldsBackPartialCharacters()
    {
        var t = new ByteTokenizer();
        var d = new StreamingDecoder(t);
        Assert.Equal("a", d.Add(97));
        Assert.Equal("", d.Add(0xE4));
        Assert.Equal("", d.Add(0xBD));
        Assert.Equal("你", d.Add(0xA0));
        Assert.Equal("", d.Add(0xF0));
        Assert.Equal("", d.Add(0x9F));
        Assert.Equal("\uFFFD", d.Flush()); // an unfinished sequence at the end is one replacement character
    }

    [Fact]
    public void Streaming_EmitsInvalidBytesImmediately()
    {
        var d = new StreamingDecoder(new ByteTokenizer());
        Assert.Equal("\uFFFD", d.Add(0x80));          // stray continuation byte can never complete
        Assert.Equal("", d.Add(0xED));
        Assert.Equal("\uFFFD\uFFFD", d.Add(0xA0));    // ED A0 would be a surrogate: ill-formed, two replacements
        Assert.Equal("", d.Flush());
    }

    [Theory]
    [InlineData(new byte[] { 0xE4, 0xB8 }, 0)]
    [InlineData(new byte[] { 0x41, 0xE4 }, 1)]
    [InlineData(new byte[] { 0xE4, 0xB8, 0xAD }, 3)]
    [InlineData(new byte[] { 0xED, 0xA0 }, 2)]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98 }, 0)]
    [InlineData(new byte[] { 0xF0, 0x8F }, 2)]
    [InlineData(new byte[] { 0x80 }, 1)]
    [InlineData(new byte[] { 0xC0 }, 1)]
    [InlineData(new byte[] { }, 0)]
    public void IncompleteTailStart_HandDerived(byte[] bytes, int expected) =>
        Assert.Equal(expected, StreamingDecoder.IncompleteTailStart(bytes));
}

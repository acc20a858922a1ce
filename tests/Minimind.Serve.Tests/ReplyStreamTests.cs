using Minimind.Serve;

namespace Minimind.Serve.Tests;

/// <summary>
/// <see cref="ReplyStream"/>: the deltas of MiniMind's <c>generate_stream_response</c> (hand-traced on its code) and stop
/// strings — whatever way the text is cut into pieces, the deltas join to the same reasoning and content, the reply ends
/// before the first stop string, and nothing of a stop string is ever sent.
/// </summary>
public sealed class ReplyStreamTests
{
    private static (string Reasoning, string Content, bool Stopped) Feed(ReplyStream s, IEnumerable<string> pieces)
    {
        string r = "", c = "";
        var list = pieces.ToList();
        for (int i = 0; i < list.Count; i++)
            foreach (var (reasoning, text) in s.Add(list[i], final: i == list.Count - 1))
                if (reasoning) r += text; else c += text;
        return (r, c, s.Stopped);
    }

    // Every way to cut a text into pieces of 1..3 characters (seeded), plus one char at a time and the whole at once.
    private static IEnumerable<string[]> Cuts(string text)
    {
        yield return new[] { text };
        yield return text.Select(ch => ch.ToString()).ToArray();
        var rng = new Random(7);
        for (int k = 0; k < 20; k++)
        {
            var pieces = new List<string>();
            for (int i = 0; i < text.Length;) { int n = Math.Min(text.Length - i, rng.Next(1, 4)); pieces.Add(text.Substring(i, n)); i += n; }
            yield return pieces.ToArray();
        }
    }

    [Fact]
    public void OpenThinking_SplitsAtTheCloseTag_AndDropsTheNewlinesAfterIt()
    {
        // MiniMind: reasoning = text before </think>; then `after = full[emitted:].lstrip('\n')` is content. Here the same
        // whatever the pieces (MiniMind's own result depends on them: newlines in a later piece than the tag stay).
        foreach (var pieces in Cuts("let me </th think</think>\n\nThe answer\n is 4."))
        {
            var (r, c, _) = Feed(new ReplyStream(true, Array.Empty<string>()), pieces);
            Assert.Equal("let me </th think", r);
            Assert.Equal("The answer\n is 4.", c);
        }
    }

    [Fact]
    public void ClosedThinking_SendsEverythingAsContent()
    {
        var (r, c, _) = Feed(new ReplyStream(false, Array.Empty<string>()), new[] { "<think>x</think>", "\nhi" });
        Assert.Equal("", r);
        Assert.Equal("<think>x</think>\nhi", c);
    }

    [Theory]
    [InlineData("Hello world. END and more", "END", "Hello world. ")]
    [InlineData("abcabd", "abd", "abc")]
    [InlineData("no stop here", "zz", "no stop here")]
    [InlineData("xSTOPySTOP", "STOP", "x")]
    public void StopStrings_EndTheReplyBeforeThem_WhateverThePieces(string text, string stop, string want)
    {
        foreach (var pieces in Cuts(text))
        {
            var s = new ReplyStream(false, new[] { "never-seen", stop });
            var (_, c, stopped) = Feed(s, pieces);
            Assert.Equal(want, c);
            Assert.Equal(want, s.Text);
            Assert.Equal(want != text, stopped);
        }
    }

    [Fact]
    public void TheEarliestOfSeveralStopStringsWins()
    {
        var s = new ReplyStream(false, new[] { "world", "lo" });
        Assert.Equal("hel", Feed(s, new[] { "hello ", "world" }).Content);
    }
}

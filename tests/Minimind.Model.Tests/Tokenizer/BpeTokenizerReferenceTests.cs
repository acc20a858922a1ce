using System.Text;
using System.Text.Json;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>
/// BpeTokenizer against HuggingFace's Rust tokenizers (npm tokenizers@0.23.2, fixture written by
/// tools/tokenizer/make_fixtures.js) on MiniMind's real v1 and v3 tokenizer.json.
/// </summary>
public sealed class BpeTokenizerReferenceTests
{
    [SkippableTheory]
    [InlineData("v1")]
    [InlineData("v3")]
    public void Encode_EqualsHuggingFaceIds_ForEveryText(string version)
    {
        var tok = TokenizerTestPaths.Load(version);
        var texts = TokenizerTestPaths.Texts;
        var expected = TokenizerTestPaths.Ids(version);
        Assert.Equal(texts.Length, expected.Length);
        var failures = new List<string>();
        for (int i = 0; i < texts.Length; i++)
        {
            var got = tok.Encode(texts[i]);
            if (!got.AsSpan().SequenceEqual(expected[i]) && failures.Count < 5)
                failures.Add($"text {i} {JsonSerializer.Serialize(texts[i])}: expected [{string.Join(",", expected[i])}] got [{string.Join(",", got)}]");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SkippableTheory]
    [InlineData("v1")]
    [InlineData("v3")]
    public void Decode_OfEncode_GivesTheTextBack_AndStreamingAgrees(string version)
    {
        var tok = TokenizerTestPaths.Load(version);
        foreach (var text in TokenizerTestPaths.Texts)
        {
            var ids = tok.Encode(text);
            Assert.Equal(text, tok.Decode(ids));
            Assert.Equal(text, StreamOneByOne(tok, ids, skip: false));
            // Encoded text ends on a character boundary, so everything is out before Flush.
            var dec = new StreamingDecoder(tok);
            var sb = new StringBuilder();
            foreach (int id in ids) sb.Append(dec.Add(id));
            Assert.Equal(text, sb.ToString());
            Assert.Equal("", dec.Flush());
        }
    }

    [SkippableTheory]
    [InlineData("v1")]
    [InlineData("v3")]
    public void Decode_OfRandomIds_EqualsHuggingFace_WithAndWithoutSpecials(string version)
    {
        var tok = TokenizerTestPaths.Load(version);
        foreach (var (ids, text, skip) in TokenizerTestPaths.Decodes(version))
        {
            Assert.Equal(text, tok.Decode(ids));
            Assert.Equal(skip, tok.Decode(ids, skipSpecialTokens: true));
            Assert.Equal(text, StreamOneByOne(tok, ids, skip: false));
            Assert.Equal(skip, StreamOneByOne(tok, ids, skip: true));
        }
    }

    [SkippableFact]
    public void SpecialIds_ComeFromTokenizerConfig()
    {
        var v1 = TokenizerTestPaths.Load("v1");
        Assert.Equal((1, 2, 0), (v1.BosId, v1.EosId, v1.PadId));       // <s>, </s>, pad_token null -> unk <unk>
        Assert.Equal((1, 2, 0), (v1.TokenToId("<s>"), v1.TokenToId("</s>"), v1.TokenToId("<unk>")));
        var v3 = TokenizerTestPaths.Load("v3");
        Assert.Equal((1, 2, 0), (v3.BosId, v3.EosId, v3.PadId));       // <|im_start|>, <|im_end|>, <|endoftext|>
        Assert.Equal((1, 2, 0), (v3.TokenToId("<|im_start|>"), v3.TokenToId("<|im_end|>"), v3.TokenToId("<|endoftext|>")));
        Assert.Equal(6400, v1.VocabSize);
        Assert.Equal(6400, v3.VocabSize);
    }

    [SkippableFact]
    public void SkippingSpecials_KeepsNonSpecialAddedTokens()
    {
        var v3 = TokenizerTestPaths.Load("v3");
        int think = v3.TokenToId("<think>")!.Value;
        Assert.False(v3.IsSpecial(think));
        Assert.True(v3.IsSpecial(v3.BosId));
        Assert.Equal("<think>", v3.Decode(new[] { v3.BosId, think, v3.EosId }, skipSpecialTokens: true));
        Assert.Equal("<|im_start|><think><|im_end|>", v3.Decode(new[] { v3.BosId, think, v3.EosId }));
    }

    [SkippableFact]
    public void ChatTemplate_SpecialTokensInText_AreSingleIds()
    {
        var v3 = TokenizerTestPaths.Load("v3");
        var ids = v3.Encode("<|im_start|>user\nhi<|im_end|>");
        Assert.Equal(v3.BosId, ids[0]);
        Assert.Equal(v3.EosId, ids[^1]);
        Assert.DoesNotContain(v3.BosId, ids[1..^1]);
    }

    internal static string StreamOneByOne(ITokenizer tok, int[] ids, bool skip)
    {
        var dec = new StreamingDecoder(tok, skip);
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(dec.Add(id));
        sb.Append(dec.Flush());
        return sb.ToString();
    }
}

using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>A hand-made tokenizer.json: merge priority, both merge formats, added tokens, refused features.</summary>
public sealed class BpeTokenizerFileTests : IDisposable
{
    private readonly string _dir = TokenizerTestPaths.TempDir();
    public void Dispose() => Directory.Delete(_dir, true);

    // Vocab: a b c ab abc Ġ Ġa, added <s> </s> <unk> and a non-special "cab".
    private string Write(string merges, string extra = "", string added = "", string preTokenizer = """{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}""", string name = "tokenizer.json")
    {
        string json = $$$"""
            {"version":"1.0","truncation":null,"padding":null,
             "added_tokens":[
               {"id":7,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
               {"id":8,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
               {"id":9,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}{{{added}}}],
             "normalizer":null,"pre_tokenizer":{{{preTokenizer}}},"post_processor":null,
             "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
             "model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,
               "fuse_unk":false,"byte_fallback":false,"ignore_merges":false{{{extra}}},
               "vocab":{"a":0,"b":1,"c":2,"ab":3,"abc":4,"Ġ":5,"Ġa":6},
               "merges":{{{merges}}}}}
            """;
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, json);
        return p;
    }

    [Fact]
    public void Encode_AppliesLowestRankFirst()
    {
        // "abc" -> a b c -> ab c -> abc; " ab": (a,b) rank 0 beats (Ġ,a) rank 2 -> Ġ ab; " cab" -> Ġ c ab.
        var t = BpeTokenizer.FromFile(Write("""["a b","ab c","Ġ a"]"""));
        Assert.Equal(new[] { 4, 5, 3, 5, 2, 3 }, t.Encode("abc ab cab"));
        Assert.Equal("abc ab cab", t.Decode(t.Encode("abc ab cab")));
    }

    [Fact]
    public void Encode_RankOrderDecides()
    {
        // With (Ġ,a) ranked first, " ab" becomes Ġa b instead.
        var t = BpeTokenizer.FromFile(Write("""["Ġ a","a b","ab c"]"""));
        Assert.Equal(new[] { 6, 1 }, t.Encode(" ab"));
    }

    [Fact]
    public void Merges_AsPairs_EqualMerges_AsStrings()
    {
        var s = BpeTokenizer.FromFile(Write("""["a b","ab c","Ġ a"]""", name: "s.json"));
        var p = BpeTokenizer.FromFile(Write("""[["a","b"],["ab","c"],["Ġ","a"]]""", name: "p.json"));
        foreach (var text in new[] { "abc ab cab", "cabbage", " a b c" })
            Assert.Equal(s.Encode(text), p.Encode(text));
    }

    [Fact]
    public void AddedTokens_AreMatchedLeftmostLongest_BeforePreTokenization()
    {
        var added = """,{"id":10,"content":"cab","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":false},{"id":11,"content":"<s>c","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":false}""";
        var t = BpeTokenizer.FromFile(Write("""["a b","ab c","Ġ a"]""", added: added));
        Assert.Equal(new[] { 4, 5, 10 }, t.Encode("abc cab"));           // "abc", " " alone, then the added "cab"
        Assert.Equal(new[] { 11, 3 }, t.Encode("<s>cab"));               // "<s>c" (longest at the leftmost start) wins over "cab"
        Assert.Equal(new[] { 7, 3 }, t.Encode("<s>ab"));
        Assert.Equal("ab", t.Decode(new[] { 7, 3, 8 }, skipSpecialTokens: true));
        Assert.Equal("<s>c", t.Decode(new[] { 11 }, skipSpecialTokens: true)); // not special: kept
    }

    [Fact]
    public void SpecialIds_FallBackToMiniMindNames_WithoutConfig()
    {
        var t = BpeTokenizer.FromFile(Write("""["a b"]"""));
        Assert.Equal((7, 8, 9), (t.BosId, t.EosId, t.PadId));
    }

    [Fact]
    public void SpecialIds_ComeFromTokenizerConfig_PadFallsBackToUnk()
    {
        var p = Write("""["a b"]""");
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """{"bos_token":"</s>","eos_token":{"content":"<s>"},"pad_token":null,"unk_token":"ab"}""");
        var t = BpeTokenizer.FromFile(p);
        Assert.Equal((8, 7, 3), (t.BosId, t.EosId, t.PadId));
    }

    [Theory]
    [InlineData("normalizer")]
    [InlineData("pre_tokenizer")]
    [InlineData("pre_tokenizer.add_prefix_space")]
    [InlineData("added_tokens[3].lstrip")]
    [InlineData("added_tokens[3].rstrip")]
    [InlineData("model.dropout")]
    [InlineData("model.byte_fallback")]
    [InlineData("model.merges")]
    public void UnsupportedFeatures_AreRefused_NamingFileAndField(string field)
    {
        const string merges = """["a b"]""";
        string TokenWith(string flag) => $$""",{"id":10,"content":"cab","single_word":false,"lstrip":{{(flag == "lstrip" ? "true" : "false")}},"rstrip":{{(flag == "rstrip" ? "true" : "false")}},"normalized":false,"special":false}""";
        string path = field switch
        {
            "normalizer" => Write(merges),
            "pre_tokenizer" => Write(merges, preTokenizer: """{"type":"Whitespace"}"""),
            "pre_tokenizer.add_prefix_space" => Write(merges, preTokenizer: """{"type":"ByteLevel","add_prefix_space":true,"use_regex":true}"""),
            "added_tokens[3].lstrip" => Write(merges, added: TokenWith("lstrip")),
            "added_tokens[3].rstrip" => Write(merges, added: TokenWith("rstrip")),
            "model.dropout" or "model.byte_fallback" => Write(merges),
            "model.merges" => Write("""["a b c"]"""),
            _ => throw new ArgumentException(field),
        };
        string json = File.ReadAllText(path);
        if (field == "normalizer") json = json.Replace("\"normalizer\":null", "\"normalizer\":{\"type\":\"NFC\"}");
        if (field == "model.dropout") json = json.Replace("\"dropout\":null", "\"dropout\":0.1");
        if (field == "model.byte_fallback") json = json.Replace("\"byte_fallback\":false", "\"byte_fallback\":true");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(field, e.Message);
    }
}

using Minimind.Model.Data;
using Minimind.Model.Tests.Tokenizer;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Data;

/// <summary>Jsonl and token-file pretraining sources: hand-derived rows, round trips, errors naming the line.</summary>
public sealed class PretrainSourceTests : IDisposable
{
    private readonly string _dir = TokenizerTestPaths.TempDir();
    public void Dispose() => Directory.Delete(_dir, true);

    private string WriteFile(string name, string content)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, content);
        return p;
    }

    [Fact]
    public void Jsonl_ByteTokenizer_GivesHandDerivedRows()
    {
        // Byte ids: a=97 b=98 c..h; é = C3 A9; pad 256, bos 257, eos 258; max_seq_len 6 -> SeqLen 5.
        var path = WriteFile("d.jsonl", "{\"text\": \"ab\"}\n\n{\"text\":\"\u00e9\"}\r\n{\"text\": \"abcdefgh\", \"id\": 3}\n");
        var src = JsonlPretrainSource.Open(path, new ByteTokenizer(), maxSeqLen: 6);
        Assert.Equal(3, src.Count);
        Assert.Equal(5, src.SeqLen);
        var (x0, y0) = PretrainSamples.Of(src, 0);
        Assert.Equal(new[] { 257, 97, 98, 258, 256 }, x0);
        Assert.Equal(new[] { 97, 98, 258, -100, -100 }, y0);
        var (x1, y1) = PretrainSamples.Of(src, 1);
        Assert.Equal(new[] { 257, 0xC3, 0xA9, 258, 256 }, x1);
        Assert.Equal(new[] { 0xC3, 0xA9, 258, -100, -100 }, y1);
        var (x2, y2) = PretrainSamples.Of(src, 2);
        Assert.Equal(new[] { 257, 97, 98, 99, 100 }, x2);
        Assert.Equal(new[] { 97, 98, 99, 100, 258 }, y2);
        Assert.Throws<ArgumentOutOfRangeException>(() => PretrainSamples.Of(src, 3));
    }

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": broken}\n", 3, "invalid JSON")]
    [InlineData("{\"text\": \"ok\"}\n{\"content\": \"x\"}\n", 2, "no \"text\" field")]
    [InlineData("{\"text\": 5}\n", 1, "expected a string")]
    [InlineData("\n\n[\"text\"]\n", 3, "expected a JSON object")]
    public void Jsonl_BadLine_ErrorNamesFileAndLine(string content, int line, string what)
    {
        var path = WriteFile("bad.jsonl", content);
        var e = Assert.Throws<InvalidDataException>(() => JsonlPretrainSource.Open(path, new ByteTokenizer(), 16));
        Assert.Contains($"{path}:{line}:", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void TokenFile_RoundTrip_EqualsJsonlSource_ByteTokenizer()
    {
        var tok = new ByteTokenizer();
        var texts = new[] { "hello", "", "你好，世界", new string('x', 40), "emoji 👨‍👩‍👧 end" };
        var path = WriteFile("t.jsonl", string.Join("\n", texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t }))));
        var jsonl = JsonlPretrainSource.Open(path, tok, 24);
        var bin = Path.Combine(_dir, "t.bin");
        using (var w = new TokenFileWriter(bin, tok.VocabSize, 24, tok.BosId, tok.EosId, tok.PadId))
        {
            foreach (var t in texts) w.AddText(tok.Encode(t));
            var h = w.Commit();
            Assert.Equal(5, h.Count);
            Assert.Equal(2, h.BytesPerToken);
        }
        Assert.Equal(TokenFileHeader.Size + 5L * 24 * 2, new FileInfo(bin).Length);
        using var file = TokenFilePretrainSource.Open(bin);
        PretrainSamples.AssertSame(jsonl, file);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void TokenFile_Uint32_WhenVocabExceeds65536()
    {
        var bin = Path.Combine(_dir, "wide.bin");
        var ids = new[] { 70000, 5, 65536 };
        using (var w = new TokenFileWriter(bin, vocabSize: 70001, maxSeqLen: 6, bosId: 69999, eosId: 69998, padId: 0))
        {
            w.AddText(ids);
            Assert.Equal(4, w.Commit().BytesPerToken);
        }
        using var src = TokenFilePretrainSource.Open(bin);
        var (x, y) = PretrainSamples.Of(src, 0);
        Assert.Equal(new[] { 69999, 70000, 5, 65536, 69998 }, x);
        Assert.Equal(new[] { 70000, 5, 65536, 69998, -100 }, y);
    }

    [Fact]
    public void TokenFile_Truncated_OrForeign_IsRejectedNamingTheFile()
    {
        var tok = new ByteTokenizer();
        var bin = Path.Combine(_dir, "c.bin");
        using (var w = new TokenFileWriter(bin, tok.VocabSize, 8, tok.BosId, tok.EosId, tok.PadId)) { w.AddText(tok.Encode("abc")); w.AddText(tok.Encode("d")); w.Commit(); }
        var bytes = File.ReadAllBytes(bin);
        File.WriteAllBytes(bin, bytes[..^3]);
        var e = Assert.Throws<InvalidDataException>(() => TokenFilePretrainSource.Open(bin));
        Assert.Contains(bin, e.Message);
        Assert.Contains("truncated", e.Message);
        var other = WriteFile("other.bin", "{\"text\": \"not a token file\"}\n");
        e = Assert.Throws<InvalidDataException>(() => TokenFilePretrainSource.Open(other));
        Assert.Contains(other, e.Message);
        Assert.Contains("MMTOKENS", e.Message);
    }

    [Fact]
    public void TokenFileWriter_WithoutCommit_LeavesExistingTargetUntouched()
    {
        var bin = WriteFile("keep.bin", "old");
        using (var w = new TokenFileWriter(bin, 259, 8, 257, 258, 256)) w.AddText(new[] { 1, 2 });
        Assert.Equal("old", File.ReadAllText(bin));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void InMemory_WideIds_SwitchStorage_AndKeepEarlierTexts()
    {
        var b = new InMemoryPretrainSource.Builder(maxSeqLen: 5);
        b.Add(new[] { 65535, 3 });
        b.Add(new[] { 70000, 4, 5, 6 });       // > 16 bits: storage widens; truncated to 3 ids
        var src = b.Build(bosId: 1, eosId: 2, padId: 0);
        Assert.Equal(5, src.TokenCount);
        var (x0, y0) = PretrainSamples.Of(src, 0);
        Assert.Equal(new[] { 1, 65535, 3, 2 }, x0);
        Assert.Equal(new[] { 65535, 3, 2, -100 }, y0);
        var (x1, y1) = PretrainSamples.Of(src, 1);
        Assert.Equal(new[] { 1, 70000, 4, 5 }, x1);
        Assert.Equal(new[] { 70000, 4, 5, 2 }, y1);
    }

    [Fact]
    public void Jsonl_SamplesDoNotDependOnThreadCount()
    {
        var tok = new ByteTokenizer();
        var docs = BuiltinCorpus.Documents(300);
        var path = WriteFile("many.jsonl", string.Join("\n", docs.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t }))));
        var one = JsonlPretrainSource.Open(path, tok, 32, threads: 1);
        var two = JsonlPretrainSource.Open(path, tok, 32, threads: 2);
        PretrainSamples.AssertSame(one, two);
        var (x, _) = PretrainSamples.Of(two, 299);
        Assert.Equal(tok.Encode(docs[299]).Take(30), x.Skip(1).Take(30));
    }
}

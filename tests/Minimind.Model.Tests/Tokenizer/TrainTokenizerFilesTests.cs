using System.Text;
using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Tests.Model;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>
/// What <c>minimind train-tokenizer</c> reads and writes, against MiniMind's own: the texts of an awkward corpus equal
/// those MiniMind's <c>get_texts</c> yields (fixture from tools/tokenizer/minimind_texts.py, which runs it), and the files
/// written for minimind-3's own vocabulary and merges equal its released tokenizer.json and tokenizer_config.json byte
/// for byte (the folder train_tokenizer.py wrote). The command itself: Minimind.Cli.Tests' TrainTokenizerCommandTests.
/// </summary>
public sealed class TrainTokenizerFilesTests
{
    private static string CorpusPath => Path.Combine(TokenizerTestPaths.Fixtures, "train_corpus.jsonl");

    private static string[] MiniMindTexts()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TokenizerTestPaths.Fixtures, "train_corpus_texts.json")));
        return doc.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static string[] Read(string path, long maxLines, TokenizerCorpus.Stats stats, int threads)
    {
        var texts = new List<string>();
        TokenizerCorpus.Read(path, TokenizerCorpus.CorpusFormat.Conversations, maxLines, stats, texts.Add, threads);
        return texts.ToArray();
    }

    [Fact]
    public void CorpusTexts_EqualMiniMindsGetTexts()
    {
        var stats = new TokenizerCorpus.Stats();
        var ours = Read(CorpusPath, 10000, stats, threads: 2);
        Assert.Equal(ours, Read(CorpusPath, 10000, new TokenizerCorpus.Stats(), threads: 1));
        Assert.Equal(MiniMindTexts(), ours);
        Assert.Equal(10000, stats.Lines);
        // --max-lines 0 reads on: the two lines after the limit
        var all = Read(CorpusPath, 0, new TokenizerCorpus.Stats(), threads: 2);
        Assert.Equal(ours.Length + 2, all.Length);
    }

    [Fact]
    public void CorpusLinesTheScriptWouldCrashOn_AreErrorsNamingTheLine()
    {
        var dir = TokenizerTestPaths.TempDir();
        try
        {
            foreach (var (line, expect) in new[]
            {
                ("[1, 2]", "expected a JSON object"),
                ("{\"conversations\": [{\"content\": 5}]}", "conversations[0].content is Number"),
                ("{\"conversations\": \"hi\"}", "\"conversations\" is String"),
                ("{\"conversations\": [\"hi\"]}", "conversations[0] is String"),
            })
            {
                var f = Path.Combine(dir, "c.jsonl");
                File.WriteAllText(f, "{\"conversations\": [{\"content\": \"ok\"}]}\n" + line + "\n");
                var e = Assert.Throws<InvalidDataException>(() => Read(f, 0, new TokenizerCorpus.Stats(), threads: 2));
                Assert.Contains(f + ":2:", e.Message);
                Assert.Contains(expect, e.Message);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>minimind-3's released tokenizer as a training result: its vocabulary by id, its merges, its 36 first tokens.</summary>
    private static TrainedBpe V3AsTrained()
    {
        var path = TokenizerTestPaths.RequireTokenizerJson("v3");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var model = doc.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().OrderBy(p => p.Value.GetInt32()).Select(p => p.Name).ToArray();
        var id = vocab.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => (id[m[0].GetString()!], id[m[1].GetString()!])).ToArray();
        return new TrainedBpe(vocab, merges, vocab.Take(36).ToArray(), 256);
    }

    [SkippableFact]
    public void WrittenFiles_EqualMiniMind3sReleasedFiles_ByteForByte()
    {
        var v3 = V3AsTrained();
        var dir = Path.GetDirectoryName(TokenizerTestPaths.RequireTokenizerJson("v3"))!;
        Assert.Equal(MiniMindTokenizerSpec.AllSpecialTokens(), v3.SpecialTokens);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "tokenizer.json"), Encoding.UTF8), MiniMindTokenizerFiles.TokenizerJson(v3));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json"), Encoding.UTF8), MiniMindTokenizerFiles.TokenizerConfigJson(v3));
        var vocab = JsonDocument.Parse(MiniMindTokenizerFiles.VocabJson(v3)).RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetInt32()));
        Assert.Equal(v3.Vocab.Select((t, i) => (t, i)), vocab);
        var mergeLines = MiniMindTokenizerFiles.MergesTxt(v3).Split('\n');
        Assert.Equal("#version: 0.2", mergeLines[0]);
        Assert.Equal(6108, mergeLines.Length - 2);
    }
}

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
/// for byte (the folder train_tokenizer.py wrote). The command itself: same files on 1 and 2 threads, loadable by
/// our tokenizer and chat template, no control codes in a redirected progress bar.
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

    [Fact]
    public void Command_WritesTheSameFilesOnOneAndTwoThreads_ThatOurTokenizerAndChatTemplateLoad()
    {
        var dir = TokenizerTestPaths.TempDir();
        try
        {
            var outs = new List<string>();
            foreach (var threads in new[] { "1", "2" })
            {
                var o = Path.Combine(dir, "t" + threads);
                var (code, so, se) = CliEvalGenerateTests.Cli("train-tokenizer", "--data", CorpusPath, "--vocab-size", "400", "--out", o, "--threads", threads);
                Assert.True(code == 0, so + se);
                Assert.DoesNotContain("\u001b", se);   // stderr is redirected here: plain progress lines
                Assert.DoesNotContain("\r", se);
                Assert.Contains("Compute merges", se);
                Assert.Contains("vocab 400 = 36 special + 256 alphabet + 108 merged", so);
                outs.Add(o);
            }
            foreach (var f in MiniMindTokenizerFiles.FileNames)
                Assert.Equal(File.ReadAllBytes(Path.Combine(outs[0], f)), File.ReadAllBytes(Path.Combine(outs[1], f)));

            // the command trains on get_texts' texts with MiniMind's settings
            var counter = new WordCounter(1);
            foreach (var t in MiniMindTexts()) counter.Add(t);
            var expected = BpeTrainer.Train(counter.ByteLevelWords(), MiniMindTokenizerSpec.TrainerOptions(400));
            Assert.Equal(MiniMindTokenizerFiles.TokenizerJson(expected), File.ReadAllText(Path.Combine(outs[0], "tokenizer.json")));

            var chat = ChatFormat.Load(outs[0]);
            Assert.Equal((1, 2, 0), (chat.Tokenizer.BosId, chat.Tokenizer.EosId, chat.Tokenizer.PadId));
            var messages = (List<object?>)Minimind.Model.Chat.Jinja.JinjaJson.Parse(
                "[{\"role\": \"user\", \"content\": \"你好\"}, {\"role\": \"assistant\", \"content\": \"我是 MiniMind\"}]")!;
            Assert.Equal("<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n我是 MiniMind<|im_end|>\n",
                chat.Template.Render(messages));
            var ids = chat.Tokenizer.Encode("<|im_start|>user\n你好<|im_end|><think>");
            Assert.Equal(new[] { 1 }, ids.Take(1));
            Assert.Equal(2, ids[^2]);
            Assert.Equal(MiniMindTokenizerSpec.AllSpecialTokens().ToList().IndexOf("<think>"), ids[^1]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Command_RefusesAnOutputThatIsAFile_AndACorpusWithoutText()
    {
        var dir = TokenizerTestPaths.TempDir();
        try
        {
            var file = Path.Combine(dir, "x");
            File.WriteAllText(file, "keep");
            var (code, _, se) = CliEvalGenerateTests.Cli("train-tokenizer", "--data", CorpusPath, "--out", file);
            Assert.Equal(2, code);
            Assert.Contains("--out", se);
            Assert.Equal("keep", File.ReadAllText(file));
            var empty = Path.Combine(dir, "e.jsonl");
            File.WriteAllText(empty, "not json\n{\"text\": \"a\"}\n");
            (code, _, se) = CliEvalGenerateTests.Cli("train-tokenizer", "--data", empty, "--out", Path.Combine(dir, "o"));
            Assert.Equal(1, code);
            Assert.Contains("no text in the first 2 lines (1 not JSON", se);
            Assert.False(Directory.Exists(Path.Combine(dir, "o")));
        }
        finally { Directory.Delete(dir, true); }
    }
}

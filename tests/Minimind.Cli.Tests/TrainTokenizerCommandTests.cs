using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Tests.Tokenizer;
using Minimind.Model.Tokenizer;

namespace Minimind.Cli.Tests;

/// <summary>
/// `minimind train-tokenizer` through the binary: the same files on 1 and 2 threads, equal to <see cref="BpeTrainer"/> on
/// MiniMind's get_texts texts (fixture from tools/tokenizer/minimind_texts.py) and loadable by our tokenizer and chat
/// template; no control codes in a redirected progress bar; a file as --out and a corpus without text refused.
/// </summary>
public sealed class TrainTokenizerCommandTests
{
    private static string CorpusPath => Path.Combine(TokenizerTestPaths.Fixtures, "train_corpus.jsonl");

    private static string[] MiniMindTexts()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TokenizerTestPaths.Fixtures, "train_corpus_texts.json")));
        return doc.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
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
                var (code, so, se) = CliProcess.Exec(null, "train-tokenizer", "--data", CorpusPath, "--vocab-size", "400", "--out", o, "--threads", threads);
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
            var (code, _, se) = CliProcess.Exec(null, "train-tokenizer", "--data", CorpusPath, "--out", file);
            Assert.Equal(2, code);
            Assert.Contains("--out", se);
            Assert.Equal("keep", File.ReadAllText(file));
            var empty = Path.Combine(dir, "e.jsonl");
            File.WriteAllText(empty, "not json\n{\"text\": \"a\"}\n");
            (code, _, se) = CliProcess.Exec(null, "train-tokenizer", "--data", empty, "--out", Path.Combine(dir, "o"));
            Assert.Equal(1, code);
            Assert.Contains("no text in the first 2 lines (1 not JSON", se);
            Assert.False(Directory.Exists(Path.Combine(dir, "o")));
        }
        finally { Directory.Delete(dir, true); }
    }
}

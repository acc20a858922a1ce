using System.Text;
using System.Text.Json;
using Minimind.Model.Tokenizer;
using Minimind.Tests;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>
/// <see cref="BpeTrainer"/> against HuggingFace's own BpeTrainer (the Rust core in npm tokenizers@0.23.2, run by
/// tools/tokenizer/train_reference.js) on seeded corpora: the varied reference texts (Chinese poems, English, code,
/// emoji with ZWJ/flags, whitespace runs with U+3000/U+0085/U+FEFF/\r\n, special-token strings and fragments inside
/// text, random Unicode over all planes).
/// The Node binding trains only with the BPE model's default BpeTrainer (vocab_size 30000, min_frequency 0, no special
/// tokens, no initial alphabet) and reads its corpus file line by line; it cannot set any of MiniMind's options
/// (vocab_size 6400, the 36 special tokens, ByteLevel.alphabet()). So: (1) our trainer at those default settings on the
/// same lines must give HF's vocabulary and merges exactly; (2) at MiniMind's settings the merges must be the first
/// merges of HF's run (specials and the 256-character alphabet only shift ids, which keeps every tie-break) and the
/// new tokens HF's in order; (3) the tokenizer.json we write at MiniMind's settings, loaded by HF, must give the same
/// ids as our BpeTokenizer on held-out text.
/// </summary>
public sealed class BpeTrainerReferenceTests
{
    private static void RequireHf() =>
        TestEnvironment.RequireTool(TestEnvironment.HasNodeModule("tokenizer", "tokenizers"),
            "npm tokenizers is not installed (cd tools/tokenizer && npm install; .ci/run does this): the HF trainer comparison is skipped");

    /// <summary>The reference texts in a seeded order: 90% to train on, the rest held out.</summary>
    private static (string[] Train, string[] HeldOut) Corpus()
    {
        var texts = TokenizerTestPaths.Texts.ToArray();
        new Random(20261205).Shuffle(texts);
        int cut = texts.Length * 9 / 10;
        return (texts[..cut], texts[cut..]);
    }

    /// <summary>What HF's train(files) feeds its trainer: every line of the file with its '\n' (the only split point).</summary>
    private static IEnumerable<string> LinesWithEndings(string content)
    {
        int start = 0;
        for (int i = 0; i < content.Length; i++)
            if (content[i] == '\n') { yield return content[start..(i + 1)]; start = i + 1; }
        if (start < content.Length) yield return content[start..];
    }

    private static Dictionary<string, long> Count(IEnumerable<string> texts, int threads)
    {
        var c = new WordCounter(threads);
        foreach (var t in texts) c.Add(t);
        return c.ByteLevelWords();
    }

    private sealed record HfModel(string[] Vocab, (string, string)[] Merges);

    private static HfModel TrainHf(string dir, string content)
    {
        var corpus = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(corpus, content, new UTF8Encoding(false));
        var json = Path.Combine(dir, "hf.json");
        var (code, so, se) = TestEnvironment.RunNode("tokenizer", new[] { "train_reference.js", "train", corpus, json });
        Assert.True(code == 0, so + se);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var model = doc.RootElement.GetProperty("model");
        var vocab = model.GetProperty("vocab").EnumerateObject().OrderBy(p => p.Value.GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(0, vocab.Count), vocab.Select(p => p.Value.GetInt32()));
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => (m[0].GetString()!, m[1].GetString()!)).ToArray();
        return new HfModel(vocab.Select(p => p.Name).ToArray(), merges);
    }

    private static (string, string)[] MergeStrings(TrainedBpe b) => b.Merges.Select(m => (b.Vocab[m.Left], b.Vocab[m.Right])).ToArray();

    [SkippableFact]
    public void DefaultSettings_VocabularyAndMergesEqualHf_OnOneAndTwoThreads()
    {
        RequireHf();
        var dir = TokenizerTestPaths.TempDir();
        try
        {
            var content = string.Join('\n', Corpus().Train) + "\n";
            var hf = TrainHf(dir, content);
            foreach (int threads in new[] { 1, 2 })
            {
                var ours = BpeTrainer.Train(Count(LinesWithEndings(content), threads), new BpeTrainerOptions { Threads = threads });
                Assert.Equal(hf.Vocab.Length, ours.Vocab.Count);
                for (int i = 0; i < hf.Vocab.Length; i++) Assert.True(hf.Vocab[i] == ours.Vocab[i], $"threads {threads}: id {i} is '{ours.Vocab[i]}', HF has '{hf.Vocab[i]}'");
                var om = MergeStrings(ours);
                Assert.Equal(hf.Merges.Length, om.Length);
                for (int i = 0; i < om.Length; i++) Assert.True(hf.Merges[i] == om[i], $"threads {threads}: merge {i} is {om[i]}, HF has {hf.Merges[i]}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void SmallCorpus_StopsWhenNoPairIsLeft_AsHf()
    {
        RequireHf();
        var dir = TokenizerTestPaths.TempDir();
        try
        {
            // a few short lines: far fewer than 30000 tokens exist, so training ends on an empty queue
            var content = "aaaa abab\r\nab  ab\u3000ab 你好你好\n<|im_start|>user\u0085hi 👨‍👩‍👧\nbbbb\n";
            var hf = TrainHf(dir, content);
            var ours = BpeTrainer.Train(Count(LinesWithEndings(content), 1), new BpeTrainerOptions());
            Assert.True(hf.Vocab.Length < 30000);
            Assert.Equal(hf.Vocab, ours.Vocab);
            Assert.Equal(hf.Merges, MergeStrings(ours));
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void MiniMindSettings_MergesArePrefixOfHf_AndTheWrittenTokenizerGivesHfIds()
    {
        RequireHf();
        var dir = TokenizerTestPaths.TempDir();
        try
        {
            var (train, heldOut) = Corpus();
            var content = string.Join('\n', train) + "\n";
            var hf = TrainHf(dir, content);
            const int vocab = 2500;
            var ours = BpeTrainer.Train(Count(LinesWithEndings(content), 2), MiniMindTokenizerSpec.TrainerOptions(vocab));
            Assert.Equal(vocab, ours.Vocab.Count);
            Assert.Equal(MiniMindTokenizerSpec.AllSpecialTokens(), ours.Vocab.Take(36));
            Assert.Equal(new[] { "<|endoftext|>", "<|im_start|>", "<|im_end|>" }, ours.Vocab.Take(3));
            // the 256 byte characters by code point ('!' first, U+0143 last), then the merged tokens in HF's order
            var alphabet = ours.Vocab.Skip(36).Take(256).ToArray();
            Assert.Equal(alphabet.OrderBy(s => (int)s[0]), alphabet);
            Assert.Equal(256, alphabet.Distinct().Count());
            int hfAlphabet = hf.Vocab.TakeWhile(t => t.Length == 1).Count();
            var oursNew = ours.Vocab.Skip(36 + 256).ToArray();
            Assert.Equal(hf.Vocab.Skip(hfAlphabet).Take(oursNew.Length), oursNew);
            var om = MergeStrings(ours);
            Assert.True(om.Length > 2000, $"only {om.Length} merges");
            Assert.Equal(hf.Merges.Take(om.Length), om);

            // the files: our tokenizer and HF's reading of the same tokenizer.json agree on held-out text
            var outDir = Path.Combine(dir, "tok");
            MiniMindTokenizerFiles.Write(outDir, ours);
            var tok = BpeTokenizer.FromFile(Path.Combine(outDir, "tokenizer.json"));
            Assert.Equal((1, 2, 0), (tok.BosId, tok.EosId, tok.PadId));
            var probe = heldOut.Concat(new[]
            {
                "<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n我是 MiniMind。<|im_end|>",
                "<tool_call>{\"name\": \"f\"}</tool_call><|buffer9|><|endoftext|>", "a\u3000\u3000b\u0085\u0085c\r\n\r\nd  \t e 👩‍❤️‍💋‍👨🇨🇳",
            }).ToArray();
            var textsFile = Path.Combine(dir, "texts.json");
            File.WriteAllText(textsFile, JsonSerializer.Serialize(probe), new UTF8Encoding(false));
            var (code, so, se) = TestEnvironment.RunNode("tokenizer", new[] { "train_reference.js", "encode", Path.Combine(outDir, "tokenizer.json"), textsFile });
            Assert.True(code == 0, so + se);
            var hfIds = JsonDocument.Parse(so.Trim().Split('\n')[^1]).RootElement.EnumerateArray()
                .Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();
            Assert.Equal(probe.Length, hfIds.Length);
            for (int i = 0; i < probe.Length; i++)
            {
                Assert.True(hfIds[i].SequenceEqual(tok.Encode(probe[i])), $"held-out text {i} {JsonSerializer.Serialize(probe[i])}: ids differ from HF's");
                Assert.Equal(probe[i], tok.Decode(tok.Encode(probe[i])));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ManyDistinctWords_SameResultOnOneAndTwoThreads()
    {
        // 40k distinct 8-letter words over 5 letters: the first pairs occur in over 4096 words each, so their merges
        // take the parallel path (words merged on both threads, changes applied in position order)
        var rng = new Random(7);
        var words = new Dictionary<string, long>();
        while (words.Count < 40000)
            words.TryAdd("Ġ" + new string(Enumerable.Range(0, 8).Select(_ => (char)('a' + rng.Next(5))).ToArray()), 1 + rng.Next(50));
        var one = BpeTrainer.Train(words, new BpeTrainerOptions { VocabSize = 3000, Threads = 1 });
        var two = BpeTrainer.Train(words, new BpeTrainerOptions { VocabSize = 3000, Threads = 2 });
        Assert.Equal(3000, one.Vocab.Count);
        Assert.Equal(one.Vocab, two.Vocab);
        Assert.Equal(one.Merges, two.Merges);
    }
}

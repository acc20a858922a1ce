using Minimind.Model;
using Minimind.Model.Tests;
using Minimind.Model.Tests.Tokenizer;

namespace Minimind.Cli.Tests;

/// <summary>
/// Issue 19 item 7: a tokenizer with more ids than the model's vocabulary is refused by every command that pairs the two
/// (generate, chat, serve, convert to an HF folder or GGUF) before any model is built, naming both sizes and where each
/// came from, instead of reading past the embedding at the first out-of-range id. The sizes are the hand-known ones:
/// MiniMind's v3 tokenizer has 6400 ids, the tiny model 259 (the byte tokenizer's).
/// </summary>
public sealed class TokenizerVocabularyTests
{
    [SkippableFact]
    public void ATokenizerLargerThanTheVocabulary_IsRefusedNamingBothSizes_InEveryCommand()
    {
        var v3 = Path.GetDirectoryName(TokenizerTestPaths.RequireTokenizerJson("v3"))!;
        var dir = ModelTestPaths.TempDir();
        try
        {
            var c = ModelConfig.Preset("minimind3") with { Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 128 };
            var weights = TinyModels.Write(Path.Combine(dir, "m.pth"), c, "byte");
            string Refused(string? stdin, params string[] args)
            {
                var (code, so, se) = CliProcess.Exec(stdin, args);
                Assert.True(code == 2, $"{string.Join(' ', args)}: exit {code}\n{so}{se}");
                return se;
            }
            string flag = $"--tokenizer {v3} has 6400 ids, but the model's vocabulary has 259 (the embedding of {weights})";
            Assert.Contains(flag, Refused(null, "generate", "--weights", weights, "--tokenizer", v3, "--prompt", "hi"));
            Assert.Contains(flag, Refused("hi\n", "chat", "--weights", weights, "--tokenizer", v3));
            Assert.Contains(flag, Refused(null, "generate", "--weights", weights, "--tokenizer", v3, "--chat", "--prompt", "hi"));
            Assert.Contains(flag, Refused(null, "serve", "--weights", weights, "--tokenizer", v3, "--port", "0"));
            Assert.Contains(flag, Refused(null, "convert", weights, Path.Combine(dir, "hf"), "--to", "hf", "--tokenizer", v3));
            Assert.Contains(flag, Refused(null, "convert", weights, Path.Combine(dir, "m.gguf"), "--tokenizer", v3));
            Assert.False(Directory.Exists(Path.Combine(dir, "hf")) && Directory.EnumerateFiles(Path.Combine(dir, "hf")).Any());
            Assert.False(File.Exists(Path.Combine(dir, "m.gguf")));

            // the tokenizer.json beside the weights is named as such
            File.Copy(Path.Combine(v3, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            var beside = Path.Combine(dir, "tokenizer.json");
            Assert.Contains($"{beside} (the tokenizer.json beside the weights) has 6400 ids, but the model's vocabulary has 259",
                Refused(null, "generate", "--weights", weights, "--prompt", "hi"));
            // and the tokenizer that fits still works
            var (ok, so2, se2) = CliProcess.Exec(null, "generate", "--weights", weights, "--tokenizer", "byte", "--prompt", "hi", "--max-new-tokens", "2", "--greedy");
            Assert.True(ok == 0, so2 + se2);
        }
        finally { Directory.Delete(dir, true); }
    }
}

using Minimind.Model.Data;
using Minimind.Model.Tests.Data;
using Minimind.Model.Tests.Tokenizer;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>`minimind tokenize`: the token file equals the jsonl source with MiniMind's real tokenizer, and a bad line
/// fails naming file and line, writing nothing.</summary>
[Collection("console")]
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _dir = TestEnvironment.NewTempDir("mm-tokcmd");

    public void Dispose() => Directory.Delete(_dir, true);

    private string WriteFile(string name, string content)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, content);
        return p;
    }

    [SkippableFact]
    public void TokenizeCommand_File_EqualsJsonlSource_RealV3Tokenizer()
    {
        var tokPath = TokenizerTestPaths.RequireTokenizerJson("v3");
        var texts = TokenizerTestPaths.Texts.Take(300).ToArray();
        var path = WriteFile("zh.jsonl", string.Join("\n", texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t }))) + "\n");
        var bin = Path.Combine(_dir, "zh.bin");
        Assert.Equal(0, Program.Main(new[] { "tokenize", "--data", path, "--tokenizer", tokPath, "--max-seq-len", "64", "--out", bin, "--threads", "2" }));
        var jsonl = JsonlPretrainSource.Open(path, TokenizerTestPaths.Load("v3"), 64);
        using var file = TokenFilePretrainSource.Open(bin);
        Assert.Equal(texts.Length, file.Count);
        Assert.Equal((6400, 1, 2, 0), (file.Header.VocabSize, file.Header.BosId, file.Header.EosId, file.Header.PadId));
        PretrainSamples.AssertSame(jsonl, file);
    }

    [Fact]
    public void TokenizeProgress_EndsAtTheRealRowCount_NotTheCountSoFar()
    {
        // The encoder runs a chunk behind the reader: a count printed when reading ends is short of the file's rows.
        const int rows = 5671;
        var path = WriteFile("many.jsonl", string.Concat(Enumerable.Range(0, rows).Select(i => $"{{\"text\": \"row {i} of the file\"}}\n")));
        var (code, o) = CliProcess.Run("tokenize", "--data", path, "--tokenizer", "byte", "--max-seq-len", "16", "--out", Path.Combine(_dir, "many.bin"), "--threads", "2");
        Assert.True(code == 0, o);
        var counts = System.Text.RegularExpressions.Regex.Matches(o, @"(\d+) rows(?! so far)").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        Assert.NotEmpty(counts);
        Assert.All(counts, c => Assert.Equal(rows, c));
        Assert.DoesNotContain("(100%)", o);
    }

    [Fact]
    public void TokenizeCommand_BadLine_FailsWithLineNumber_AndWritesNothing()
    {
        var path = WriteFile("bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"\n");
        var bin = Path.Combine(_dir, "bad.bin");
        // Run the command object directly (Program.Main maps this exception to exit code 1) to keep Console untouched.
        var args = new ArgParser(new[] { "--data", path, "--tokenizer", "byte", "--max-seq-len", "8", "--out", bin });
        var e = Assert.Throws<InvalidDataException>(() => new Minimind.Cli.Commands.TokenizeCommand().Run(args));
        Assert.Contains($"{path}:2:", e.Message);
        Assert.False(File.Exists(bin));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

}

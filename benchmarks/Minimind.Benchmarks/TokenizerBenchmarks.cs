using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;

namespace Minimind.Benchmarks;

/// <summary>
/// BpeTokenizer.Encode throughput on MiniMind's v3 tokenizer (../shared/minimind/v3/tokenizer.json, found by
/// walking up from the binary). Corpora: <c>zh</c> = fortunes-zh tang300+song100 (ANSI codes stripped),
/// <c>en</c> = the built-in English corpus, <c>mixed</c> = the tokenizer reference fixture texts. Each op encodes
/// every text once, with a warm word cache (<c>Encode</c>) or after emptying it (<c>EncodeColdCache</c>);
/// MB/s = Utf8Bytes / mean time.
/// Run: <c>dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- --filter '*TokenizerBenchmarks*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private BpeTokenizer _tok = null!;
    private string[] _texts = Array.Empty<string>();

    /// <summary>Which corpus.</summary>
    [Params("zh", "en", "mixed")]
    public string Corpus { get; set; } = "zh";

    /// <summary>UTF-8 bytes encoded per op (printed in setup, for MB/s).</summary>
    public long Utf8Bytes { get; private set; }

    /// <summary>Loads the tokenizer and the texts.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string shared = FindUp(Path.Combine("shared", "minimind")) ?? throw new DirectoryNotFoundException("shared/minimind not found above " + AppContext.BaseDirectory);
        _tok = BpeTokenizer.FromFile(Path.Combine(shared, "v3", "tokenizer.json"));
        _texts = Corpus switch
        {
            "zh" => new[] { "tang300", "song100" }.SelectMany(f =>
                Regex.Replace(File.ReadAllText(Path.Combine("/usr/share/games/fortunes", f)), "\u001b\\[[0-9;]*m", "").Split("\n%\n")).ToArray(),
            "en" => BuiltinCorpus.Documents().ToArray(),
            "mixed" => ReadFixtureTexts(),
            _ => throw new ArgumentException(Corpus),
        };
        Utf8Bytes = _texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
        Console.WriteLine($"// corpus {Corpus}: {_texts.Length} texts, {Utf8Bytes} UTF-8 bytes");
    }

    /// <summary>Encodes every text (word cache warm after the first op).</summary>
    [Benchmark]
    public long Encode()
    {
        long n = 0;
        foreach (var t in _texts) n += _tok.Encode(t).Length;
        return n;
    }

    /// <summary>Encodes every text with an empty word cache (every word BPE-merged once).</summary>
    [Benchmark]
    public long EncodeColdCache()
    {
        _tok.ClearCache();
        long n = 0;
        foreach (var t in _texts) n += _tok.Encode(t).Length;
        return n;
    }

    private static string[] ReadFixtureTexts()
    {
        var dir = FindUp(Path.Combine("tests", "fixtures", "tokenizer")) ?? throw new DirectoryNotFoundException("tests/fixtures/tokenizer not found");
        using var fs = File.OpenRead(Path.Combine(dir, "reference.json.gz"));
        using var gz = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionMode.Decompress);
        using var doc = System.Text.Json.JsonDocument.Parse(gz);
        return doc.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static string? FindUp(string rel)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, rel);
            if (Directory.Exists(p)) return p;
        }
        return null;
    }
}

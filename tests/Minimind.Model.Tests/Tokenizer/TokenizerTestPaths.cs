using System.IO.Compression;
using System.Text.Json;
using Minimind.Tests;

namespace Minimind.Model.Tests.Tokenizer;

/// <summary>Locates the tokenizer fixtures and MiniMind's real tokenizer files (../shared/minimind).</summary>
internal static class TokenizerTestPaths
{
    /// <summary>tests/fixtures/tokenizer, found by walking up from the test binary.</summary>
    public static string Fixtures { get; } = TestEnvironment.Fixtures("tokenizer");

    /// <summary>The shared/minimind folder (tokenizer.json of v1 and v3), or null when absent.</summary>
    public static string? SharedMinimind { get; } = TestEnvironment.FindUp(Path.Combine("shared", "minimind"));

    /// <summary>Skips the test with a visible reason when shared/minimind is absent; returns the tokenizer.json path.</summary>
    public static string RequireTokenizerJson(string version) => RequireShared(version, "tokenizer.json", "tokenizer reference test");

    /// <summary>shared/minimind/<paramref name="version"/>/<paramref name="file"/>; skips <paramref name="test"/>, saying why, when it is absent.</summary>
    public static string RequireShared(string version, string file, string test)
    {
        Skip.If(SharedMinimind is null, "shared/minimind (MiniMind's tokenizer files) not found above " + AppContext.BaseDirectory + "; " + test + " skipped");
        var p = Path.Combine(SharedMinimind!, version, file);
        Skip.IfNot(File.Exists(p), p + " not found; " + test + " skipped");
        return p;
    }

    private static readonly Lazy<JsonDocument> _reference = new(() =>
    {
        using var fs = File.OpenRead(Path.Combine(Fixtures, "reference.json.gz"));
        using var gz = new GZipStream(fs, CompressionMode.Decompress);
        return JsonDocument.Parse(gz);
    });

    /// <summary>The reference written by tools/tokenizer/make_fixtures.js (HF tokenizers@0.23.2).</summary>
    public static JsonElement Reference => _reference.Value.RootElement;

    /// <summary>The reference corpus.</summary>
    public static string[] Texts => Reference.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>Reference ids of every text for <paramref name="version"/>.</summary>
    public static int[][] Ids(string version) =>
        Reference.GetProperty("tokenizers").GetProperty(version).GetProperty("ids").EnumerateArray()
            .Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray()).ToArray();

    /// <summary>Random id sequences with HF's decode with and without special tokens.</summary>
    public static (int[] Ids, string Text, string Skip)[] Decodes(string version) =>
        Reference.GetProperty("tokenizers").GetProperty(version).GetProperty("decodes").EnumerateArray()
            .Select(d => (d.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                          d.GetProperty("text").GetString()!, d.GetProperty("skip").GetString()!)).ToArray();

    private static readonly Dictionary<string, Minimind.Model.Tokenizer.BpeTokenizer> _loaded = new();

    /// <summary>The real tokenizer of <paramref name="version"/> (skips when absent), loaded once.</summary>
    public static Minimind.Model.Tokenizer.BpeTokenizer Load(string version)
    {
        var path = RequireTokenizerJson(version);
        lock (_loaded)
        {
            if (!_loaded.TryGetValue(version, out var t)) _loaded[version] = t = Minimind.Model.Tokenizer.BpeTokenizer.FromFile(path);
            return t;
        }
    }

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string TempDir() => TestEnvironment.NewTempDir("mm-tok");
}

using System.Text.Json;
using Minimind.Model.Evaluation;
using Minimind.Tests;

namespace Minimind.Model.Tests.Evaluation;

/// <summary>
/// PythonRandom and PyText against the real Python interpreter: random(), getrandbits, _randbelow and sample (both of
/// its algorithms, every seed shape: 0, small, above 2³², negative), and str's strip/rstrip/isspace/len/capitalize.
/// </summary>
public sealed class PythonSemanticsTests
{
    /// <summary>Runs <paramref name="code"/> with /usr/bin/python3; <paramref name="input"/> is in the JSON file sys.argv[1].</summary>
    private static JsonElement RunPython(string code, object? input = null)
    {
        Skip.IfNot(File.Exists(TestEnvironment.Python), $"{TestEnvironment.Python} not found; the Python comparison is skipped");
        var dir = ModelTestPaths.TempDir();
        try
        {
            var script = Path.Combine(dir, "p.py");
            var inputPath = Path.Combine(dir, "input.json");
            File.WriteAllText(script, code);
            File.WriteAllText(inputPath, JsonSerializer.Serialize(input));
            var (rc, so, se) = TestEnvironment.RunPython(new[] { script, inputPath });
            Assert.True(rc == 0, se);
            return JsonDocument.Parse(so).RootElement.Clone();
        }
        finally { Directory.Delete(dir, true); }
    }

    private static readonly long[] Seeds = { 0, 1, 1234, 7, 4294967295L, 4294967296L, 123456789012345L, -1234 };
    private static readonly (int N, int K)[] Samples = { (30, 3), (30, 6), (10, 10), (22, 1), (21, 5), (200, 11), (86, 6), (85, 6), (40000, 11), (1, 1), (5, 0) };

    [SkippableFact]
    public void Random_IsPythons_BitForBit()
    {
        string seeds = string.Join(",", Seeds), samples = string.Join(",", Samples.Select(s => $"({s.N},{s.K})"));
        var py = RunPython($$"""
            import json, random
            out = []
            for seed in [{{seeds}}]:
                r = random.Random(seed)
                d = {"random": [r.random() for _ in range(5)], "bits": [r.getrandbits(k) for k in (1, 5, 31, 32, 33, 48, 64)],
                     "below": [r.randrange(n) for n in (1, 2, 3, 7, 1000, 2**31 - 1, 2**40 + 3)]}
                d["samples"] = [r.sample(range(n), k) for n, k in [{{samples}}]]
                out.append(d)
            print(json.dumps(out))
            """);
        for (int s = 0; s < Seeds.Length; s++)
        {
            var r = new PythonRandom(Seeds[s]);
            var want = py[s];
            foreach (var x in want.GetProperty("random").EnumerateArray()) Assert.Equal(x.GetDouble(), r.NextDouble());
            var bits = new[] { 1, 5, 31, 32, 33, 48, 64 };
            int i = 0;
            foreach (var x in want.GetProperty("bits").EnumerateArray()) Assert.Equal(x.GetUInt64(), r.GetRandBits(bits[i++]));
            var below = new long[] { 1, 2, 3, 7, 1000, int.MaxValue, (1L << 40) + 3 };
            i = 0;
            foreach (var x in want.GetProperty("below").EnumerateArray()) Assert.Equal(x.GetInt64(), r.RandBelow(below[i++]));
            i = 0;
            foreach (var x in want.GetProperty("samples").EnumerateArray())
            {
                var (n, k) = Samples[i++];
                Assert.Equal(x.EnumerateArray().Select(v => v.GetInt32()).ToArray(), r.Sample(n, k));
            }
        }
    }

    [SkippableFact]
    public void StrOperations_ArePythons()
    {
        var texts = new[]
        {
            "  hello \n", "\u3000答案：\u3000", "x\u001c\u001d\u001e\u001f", "\u00a0\u2028a\u2029\u0085", "\u200bzero-width\u200b", "\ufeffbom",
            "𠀀𠀋 ext-B", "the MAN walks", "ǆemal", "éCOLE", "", " ", "1[title]", "\t\v\f\r",
        };
        var py = RunPython("import json, sys\nt = json.load(open(sys.argv[1], encoding='utf-8'))\n" +
            "print(json.dumps([{'strip': s.strip(), 'rstrip': s.rstrip(), 'len': len(s), 'bytes': len(s.encode('utf-8')), 'cap': s.capitalize()} for s in t]))\n", texts);
        for (int i = 0; i < texts.Length; i++)
        {
            var w = py[i];
            Assert.Equal(w.GetProperty("strip").GetString(), PyText.Strip(texts[i]));
            Assert.Equal(w.GetProperty("rstrip").GetString(), PyText.RStrip(texts[i]));
            Assert.Equal(w.GetProperty("len").GetInt32(), PyText.Length(texts[i]));
            Assert.Equal(w.GetProperty("bytes").GetInt32(), PyText.Utf8Length(texts[i]));
            Assert.Equal(w.GetProperty("cap").GetString(), PyText.Capitalize(texts[i]));
        }
        // isspace over the whole BMP
        var spaces = RunPython("import json\nprint(json.dumps([i for i in range(0x10000) if chr(i).isspace()]))").EnumerateArray().Select(x => x.GetInt32()).ToHashSet();
        for (int c = 0; c < 0x10000; c++) Assert.True(spaces.Contains(c) == PyText.IsSpace((char)c), $"U+{c:X4}: Python isspace {spaces.Contains(c)}");
    }
}

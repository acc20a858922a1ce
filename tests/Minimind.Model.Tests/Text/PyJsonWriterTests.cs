using System.Text.Json;
using Minimind.Model.Chat.Jinja;
using Minimind.Model.Text;
using Minimind.Tests;

namespace Minimind.Model.Tests.Text;

/// <summary>
/// <see cref="PyJsonWriter"/> (through the template values' <see cref="PyFormat.JsonDumps"/> and a parsed
/// <see cref="JsonElement"/>) against /usr/bin/python3's own json.dumps on tricky values: non-ASCII, characters above
/// U+FFFF, unpaired surrogates, every kind of control character, floats at repr's switch points (1e16, 1e-4), -0.0,
/// NaN/Infinity, 64-bit and bigger ints, nested and empty containers, under ensure_ascii, indent, separators and
/// sort_keys. The values reach Python tagged (strings as UTF-16 units, floats as their bits), not through the writer.
/// </summary>
public sealed class PyJsonWriterTests
{
    private static OrderedDictionary<string, object?> D(params (string Key, object? Value)[] items)
    {
        var d = new OrderedDictionary<string, object?>();
        foreach (var (k, v) in items) d[k] = v;
        return d;
    }

    private static List<object?> L(params object?[] items) => items.ToList();

    private static readonly object?[] Values =
    {
        "plain", "naïve café — 中文", "astral 😀 𝄞", "lone high \ud800 end", "lone low \udc00", "\udc00\ud800 reversed pair",
        "\u0000\u0001\u001f\u007f\u0080\u00ff\u2028\u2029\ufeff", "quote \" backslash \\ slash / \b\f\n\r\t",
        1e16, 1e15, 9999999999999998.0, 0.1, -0.0, 0.0, 1e-4, 9.99e-5, 1e-7, 123456789.123, 1.5e300, 5e-324, 1.7976931348623157e308,
        double.NaN, double.PositiveInfinity, double.NegativeInfinity, 2.0 / 3, 100.0, -1e22,
        0L, -1L, long.MaxValue, long.MinValue, true, false, null,
        L(), D(), L(L(), D(), L(L())),
        D(("b", 1L), ("a", L(1.0, "x", null, D())), ("é", D(("z", L()), ("y", -0.0))), ("", "empty key"), ("😀", D(("\n", 1e16)))),
        L(D(("k", L(D(("deep", L(true, false, null, "ü")))))), 0.5, "\u0007"),
    };

    private static readonly (bool Ascii, int? Indent, string[]? Sep, bool Sort)[] Options =
    {
        (false, null, null, false), (true, null, null, false), (false, 2, null, false), (true, 4, null, true),
        (false, null, new[] { ",", ":" }, false), (false, null, new[] { ",", ":" }, true), (true, 0, null, false),
        (false, 1, new[] { " ,", " = " }, true),
    };

    // JSON texts for the JsonElement path: json.loads then json.dumps on the Python side.
    private static readonly string[] Texts =
    {
        """{"a": 1, "b": [1e5, 1E-7, -0.0, 0.1, 2.50, 1e16, 123456789012345678901234567890, -0], "a": {"x": "\u00e9\ud83d\ude00\n"}}""",
        """[{"name": "get_weather", "arguments": {"city": "北京", "days": 3, "units": null, "ok": true}}, "\u0001", 5e-324, 1e308]""",
        "{}", "[]", "\"\\u2028 \\\" \\\\ \\/\"", "-12.5e-3",
    };

    private static object? Tag(object? v) => v switch
    {
        null => null,
        bool b => b,
        long l => new Dictionary<string, object?> { ["i"] = l.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        double d => new Dictionary<string, object?> { ["f"] = BitConverter.DoubleToInt64Bits(d).ToString(System.Globalization.CultureInfo.InvariantCulture) },
        string s => new Dictionary<string, object?> { ["s"] = s.Select(c => (int)c).ToArray() },
        List<object?> l => new Dictionary<string, object?> { ["l"] = l.Select(Tag).ToArray() },
        OrderedDictionary<string, object?> d => new Dictionary<string, object?> { ["d"] = d.Select(p => new[] { Tag(p.Key), Tag(p.Value) }).ToArray() },
        _ => throw new ArgumentException(v.GetType().Name),
    };

    private const string Script = """
        import json, struct, sys
        def s16(units): return struct.pack('<%dH' % len(units), *units).decode('utf-16-le', 'surrogatepass')
        def units(s):
            b = s.encode('utf-16-le', 'surrogatepass')
            return list(struct.unpack('<%dH' % (len(b) // 2), b))
        def dec(t):
            if t is None or isinstance(t, bool): return t
            if 'i' in t: return int(t['i'])
            if 'f' in t: return struct.unpack('<d', struct.pack('<q', int(t['f'])))[0]
            if 's' in t: return s16(t['s'])
            if 'l' in t: return [dec(x) for x in t['l']]
            return {dec(k): dec(v) for k, v in t['d']}
        inp = json.load(open(sys.argv[1]))
        values = [dec(t) for t in inp['values']]
        dumps = []
        for o in inp['options']:
            kw = dict(ensure_ascii=o['ascii'], indent=o['indent'], sort_keys=o['sort'])
            if o['sep'] is not None: kw['separators'] = tuple(o['sep'])
            dumps.append([units(json.dumps(v, **kw)) for v in values])
        texts = [[units(json.dumps(json.loads(s16(t['s'])), ensure_ascii=a)) for a in (False, True)] for t in inp['texts']]
        print(json.dumps({'dumps': dumps, 'texts': texts}))
        """;

    private static string FromUnits(JsonElement units) => new(units.EnumerateArray().Select(u => (char)u.GetInt32()).ToArray());

    [SkippableFact]
    public void Dumps_IsPythonsJsonDumps_OnTrickyValues()
    {
        Skip.IfNot(File.Exists(TestEnvironment.Python), $"{TestEnvironment.Python} not found; the json.dumps comparison is skipped");
        var dir = ModelTestPaths.TempDir();
        JsonElement py;
        try
        {
            var script = Path.Combine(dir, "dumps.py");
            var input = Path.Combine(dir, "input.json");
            File.WriteAllText(script, Script);
            File.WriteAllText(input, JsonSerializer.Serialize(new
            {
                values = Values.Select(Tag).ToArray(),
                options = Options.Select(o => new { ascii = o.Ascii, indent = o.Indent, sep = o.Sep, sort = o.Sort }).ToArray(),
                texts = Texts.Select(t => Tag(t)).ToArray(),
            }));
            var (rc, so, se) = TestEnvironment.RunPython(new[] { script, input });
            Assert.True(rc == 0, se);
            py = JsonDocument.Parse(so).RootElement.Clone();
        }
        finally { Directory.Delete(dir, true); }

        var dumps = py.GetProperty("dumps");
        for (int o = 0; o < Options.Length; o++)
        {
            var (ascii, indent, sep, sort) = Options[o];
            for (int v = 0; v < Values.Length; v++)
            {
                string expected = FromUnits(dumps[o][v]);
                string actual = PyFormat.JsonDumps(Values[v], indent, sort, sep?[0], sep?[1], ascii);
                Assert.True(expected == actual, $"option set {o}, value {v}:\n python: {expected}\n ours:   {actual}");
            }
        }
        var texts = py.GetProperty("texts");
        for (int t = 0; t < Texts.Length; t++)
        {
            using var doc = JsonDocument.Parse(Texts[t]);
            for (int a = 0; a < 2; a++)
            {
                string expected = FromUnits(texts[t][a]);
                string actual = PyJsonWriter.Dumps(doc.RootElement, ensureAscii: a == 1);
                Assert.True(expected == actual, $"text {t}, ensure_ascii={a == 1}:\n python: {expected}\n ours:   {actual}");
            }
        }
    }
}

using System.IO.Compression;
using System.Text.Json;
using Minimind.Tests;

namespace Minimind.Training.Tests.Rl;

/// <summary>The committed fixtures of tests/fixtures/rl (written by tools/rl/make_fixtures.py from MiniMind's own code).</summary>
internal static class RlFixtures
{
    /// <summary>Parses tests/fixtures/rl/<paramref name="name"/> (gzip when it ends in .gz).</summary>
    public static JsonDocument Load(string name)
    {
        var path = Path.Combine(TestEnvironment.Fixtures("rl"), name);
        using var file = File.OpenRead(path);
        using Stream s = name.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        return JsonDocument.Parse(s);
    }

    /// <summary>[[first, last], ...] ranges as a membership test.</summary>
    public static Func<int, bool> Ranges(JsonElement list)
    {
        var r = list.EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetInt32())).ToArray();
        return cp =>
        {
            int lo = 0, hi = r.Length - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) / 2;
                if (cp < r[mid].Item1) hi = mid - 1;
                else if (cp > r[mid].Item2) lo = mid + 1;
                else return true;
            }
            return false;
        };
    }
}

using System.Formats.Tar;
using System.Text.Json;

namespace Minimind.Checkpoint.Tests;

/// <summary>
/// Reads every fixture torch wrote and compares every value with what torch itself read back (expected.json):
/// set "torch1" (tests/fixtures/pth: torch 1.13 plus hand-made files) and "torch2" (tests/fixtures/pth/torch2:
/// the files torch 2.x saved itself, with its 2.x records such as .data/serialization_id).
/// </summary>
public class PthReaderFixtureTests
{
    private static string Folder(string set) => set == "torch1" ? "" : set;

    private static readonly Dictionary<string, JsonElement> ExpectedBySet = new[] { "torch1", "torch2" }.ToDictionary(
        set => set, set => JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(Folder(set), "expected.json"))).RootElement);

    private static readonly Lazy<JsonElement> Expected = new(() => ExpectedBySet["torch1"]);

    public static IEnumerable<object[]> Files() => ExpectedBySet.SelectMany(kv =>
        kv.Value.GetProperty("files").EnumerateObject().Select(p => new object[] { kv.Key, p.Name }));

    public static IEnumerable<object[]> Malicious() =>
        Expected.Value.GetProperty("malicious").EnumerateObject().Select(p => new object[] { p.Name, p.Value.GetString()! });

    [Fact]
    public void EachSetWasWrittenByItsTorchMajorVersion()
    {
        Assert.StartsWith("1.", ExpectedBySet["torch1"].GetProperty("torch").GetString());
        Assert.StartsWith("2.", ExpectedBySet["torch2"].GetProperty("torch").GetString());
        // Written by torch 2.x itself: its zips carry the serialization id record torch 1.13 never wrote.
        using var z = new System.IO.Compression.ZipArchive(File.OpenRead(TestPaths.Fixture("torch2", "minimind2024_f32.pth")));
        Assert.Contains(z.Entries, e => e.FullName.EndsWith("/.data/serialization_id", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void EveryValueMatchesTorch(string set, string file)
    {
        var exp = ExpectedBySet[set].GetProperty("files").GetProperty(file);
        var pth = PthReader.Read(TestPaths.Fixture(Folder(set), file));
        Assert.Equal(exp.GetProperty("format").GetString(), pth.Format == PthFormat.Zip ? "zip" : "legacy");
        var top = exp.GetProperty("top");
        Assert.Equal(top.ValueKind == JsonValueKind.Null ? null : top.GetString(), pth.TopFolder);

        var got = ObjectTreeFlattener.Flatten(pth.Root);
        var values = exp.GetProperty("values");
        Assert.Equal(values.EnumerateObject().Select(p => p.Name).OrderBy(x => x, StringComparer.Ordinal),
                     got.Keys.OrderBy(x => x, StringComparer.Ordinal));
        var groups = new Dictionary<int, TorchStorage>();
        foreach (var p in values.EnumerateObject())
        {
            var e = p.Value;
            var n = got[p.Name];
            string kind = e.GetProperty("kind").GetString()!;
            Assert.True(kind == n.Kind, $"{file}:{p.Name}: kind {n.Kind}, torch says {kind}");
            switch (kind)
            {
                case "dict" or "odict":
                    Assert.Equal(e.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToList(), (List<string>)n.Value!);
                    break;
                case "list" or "tuple": Assert.Equal(e.GetProperty("len").GetInt32(), (int)n.Value!); break;
                case "int" or "str": Assert.Equal(e.GetProperty("value").GetString(), (string)n.Value!); break;
                case "bool": Assert.Equal(e.GetProperty("value").GetBoolean(), (bool)n.Value!); break;
                case "float": Assert.Equal(e.GetProperty("bits").GetString(), (string)n.Value!); break;
                case "none": break;
                case "tensor":
                    {
                        var t = (TorchTensor)n.Value!;
                        string where = $"{set}/{file}:{p.Name}";
                        Assert.True(e.GetProperty("dtype").GetString() == t.DType.ShortName(), where + " dtype " + t.DType);
                        Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()), t.Shape);
                        Assert.Equal(e.GetProperty("stride").EnumerateArray().Select(x => x.GetInt64()), t.Stride);
                        Assert.Equal(e.GetProperty("offset").GetInt64(), t.StorageOffset);
                        Assert.True(e.GetProperty("bytes").GetString() == Convert.ToHexStringLower(t.ToContiguousBytes()), where + " bytes");
                        var f32 = t.ToFloat32();
                        Assert.True(e.GetProperty("f32").GetString() == Convert.ToHexStringLower(System.Runtime.InteropServices.MemoryMarshal.AsBytes(f32.AsSpan())), where + " f32");
                        if (e.GetProperty("storage_group").ValueKind == JsonValueKind.Number)
                        {
                            int g = e.GetProperty("storage_group").GetInt32();
                            if (groups.TryGetValue(g, out var s)) Assert.True(ReferenceEquals(s, t.Storage), where + " should share its storage");
                            else
                            {
                                Assert.DoesNotContain(t.Storage, groups.Values);
                                groups[g] = t.Storage;
                            }
                        }
                        break;
                    }
                default: throw new InvalidOperationException(kind);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Malicious))]
    public void UnsafePicklesAreRejectedNamingTheCulprit(string file, string culprit)
    {
        var ex = Assert.Throws<PthFormatException>(() => PthReader.Read(TestPaths.Fixture(file)));
        Assert.Contains(culprit, ex.Message);
        Assert.Contains("pickle byte", ex.Message);
        Assert.Contains(file, ex.Message);
    }

    [Fact]
    public void TiedWeightsShareOneStorageObject()
    {
        var sd = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
        Assert.Same(sd["tok_embeddings.weight"].Storage, sd["output.weight"].Storage);
        Assert.NotSame(sd["tok_embeddings.weight"], sd["output.weight"]);
        Assert.Equal(sd["tok_embeddings.weight"].ToFloat32(), sd["output.weight"].ToFloat32());
    }

    [Fact]
    public void ResumeDictYieldsItsModelStateDict()
    {
        var sd = StateDict.Read(TestPaths.Fixture("resume.pth"));
        Assert.Equal(new[] { "0.weight", "1.weight" }, sd.Keys);
        Assert.Same(sd["0.weight"].Storage, sd["1.weight"].Storage);
    }

    [Fact]
    public void AdamWStateIsNotAStateDict()
    {
        var ex = Assert.Throws<PthFormatException>(() => StateDict.Read(TestPaths.Fixture("adamw.pth")));
        Assert.Contains("'state'", ex.Message);
        Assert.Contains("adamw.pth", ex.Message);
    }

    [Fact]
    public void TarLayoutIsRejectedClearly()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "old.pth");
            using (var fs = File.Create(path))
            using (var tw = new TarWriter(fs, TarEntryFormat.Ustar))
            {
                var e = new UstarTarEntry(TarEntryType.RegularFile, "sys_info") { DataStream = new MemoryStream(new byte[] { 1, 2, 3 }) };
                tw.WriteEntry(e);
            }
            var ex = Assert.Throws<PthFormatException>(() => PthReader.Read(path));
            Assert.Contains("tar", ex.Message);
            Assert.Contains(path, ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ArbitraryBytesAreNotACheckpoint()
    {
        var ex = Assert.Throws<PthFormatException>(() => PthReader.ReadBytes(System.Text.Encoding.ASCII.GetBytes("hello world, not a checkpoint"), "x.pth"));
        Assert.Contains("not a PyTorch checkpoint", ex.Message);
    }
}

/// <summary>Records whose size disagrees with the pickle, rebuilt from a real fixture with .NET's zip writer.</summary>
public class PthRecordSizeTests
{
    private static byte[] Rewrite(string fixture, Func<string, byte[], byte[]?> edit)
    {
        using var src = new System.IO.Compression.ZipArchive(File.OpenRead(TestPaths.Fixture(fixture)));
        var ms = new MemoryStream();
        using (var dst = new System.IO.Compression.ZipArchive(ms, System.IO.Compression.ZipArchiveMode.Create, true))
            foreach (var e in src.Entries)
            {
                var data = new MemoryStream();
                using (var s = e.Open()) s.CopyTo(data);
                var b = edit(e.FullName, data.ToArray());
                if (b is null) continue;
                using var o = dst.CreateEntry(e.FullName, System.IO.Compression.CompressionLevel.Optimal).Open();
                o.Write(b);
            }
        return ms.ToArray();
    }

    [Fact]
    public void DeflatedCopyReadsTheSameAndSizeMismatchesAreNamed()
    {
        var same = PthReader.ReadBytes(Rewrite("minimind2024_f32.pth", (_, b) => b), "same.pth");
        var orig = StateDict.Read(TestPaths.Fixture("minimind2024_f32.pth"));
        var sd = StateDict.FromRoot(same.Root);
        foreach (var k in orig.Keys) Assert.Equal(orig[k].ToFloat32(), sd[k].ToFloat32());

        var shortRec = Rewrite("minimind2024_f32.pth", (n, b) => n.EndsWith("/data/0", StringComparison.Ordinal) ? b[..^4] : b);
        var ex = Assert.Throws<PthFormatException>(() => PthReader.ReadBytes(shortRec, "short.pth"));
        Assert.Contains("short.pth", ex.Message);
        Assert.Contains("data/0", ex.Message);
        Assert.Contains("declares", ex.Message);

        var missing = Rewrite("minimind2024_f32.pth", (n, b) => n.EndsWith("/data/1", StringComparison.Ordinal) ? null : b);
        var ex2 = Assert.Throws<PthFormatException>(() => PthReader.ReadBytes(missing, "missing.pth"));
        Assert.Contains("storage '1' has no record", ex2.Message);
    }
}

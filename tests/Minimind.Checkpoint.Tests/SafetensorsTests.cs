using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Minimind.Tests;

namespace Minimind.Checkpoint.Tests;

/// <summary>
/// The safetensors reader and writer against an independent Python reader/writer over real torch
/// (tools/safetensors/st_torch.py), hand-made hostile headers, and seeded mutations.
/// </summary>
public class SafetensorsTests
{
    private static string StFixture(string name) => Path.Combine(TestEnvironment.Fixtures("safetensors"), name);
    private static string Script => Path.Combine(TestPaths.RepoRoot, "tools", "safetensors", "st_torch.py");

    private static void AssertSameTensors(StateDict expected, StateDict actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var k in expected.Keys)
        {
            Assert.Equal(expected[k].DType, actual[k].DType);
            Assert.Equal(expected[k].Shape, actual[k].Shape);
            Assert.True(expected[k].ToContiguousBytes().AsSpan().SequenceEqual(actual[k].ToContiguousBytes()), $"tensor '{k}' differs");
        }
    }

    [Fact]
    public void FixtureWrittenByTheTorchScriptMatchesThePthItCameFrom()
    {
        // tools/safetensors/st_torch.py from-pth wrote these from the .pth fixtures (every dtype MiniMind uses).
        foreach (var name in new[] { "dtypes", "minimind3_bf16" })
        {
            var st = SafetensorsFile.Read(StFixture(name + ".safetensors"));
            Assert.Equal("pt", st.Metadata["format"]);
            AssertSameTensors(StateDict.Read(TestPaths.Fixture(name + ".pth")), StateDict.Read(StFixture(name + ".safetensors")));
        }
    }

    [Fact]
    public void WriterRoundTripsEveryDTypeViewsScalarsAndEmptyTensors()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var sd = StateDict.Read(TestPaths.Fixture("dtypes.pth"));
            foreach (var (k, t) in StateDict.Read(TestPaths.Fixture("views.pth"))) sd.Add("view." + k, t);
            sd.Add("scalar", TorchTensor.FromFloat32(new[] { 3.5f }, Array.Empty<int>()));
            sd.Add("empty", TorchTensor.FromFloat32(Array.Empty<float>(), new[] { 0, 4 }, TorchDType.BF16));
            var path = Path.Combine(dir, "all.safetensors");
            SafetensorsWriter.Write(path, sd, new Dictionary<string, string> { ["format"] = "pt" });
            var bytes = File.ReadAllBytes(path);
            long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            Assert.Equal(0, n % 8); // tensors start 8-byte aligned
            Assert.Equal((byte)'{', bytes[8]);
            var back = SafetensorsFile.Read(path);
            Assert.Equal("pt", back.Metadata["format"]);
            AssertSameTensors(sd, back.ToStateDict());
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableTheory]
    [InlineData("torch1")]
    [InlineData("torch2")]
    public void RoundTripThroughTorchBothWays(string torchName)
    {
        var torch = TestEnvironment.Torch(torchName);
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        var dir = TestPaths.TempDir();
        try
        {
            var sd = StateDict.Read(TestPaths.Fixture("dtypes.pth"));
            foreach (var (k, t) in StateDict.Read(TestPaths.Fixture("minimind3_bf16.pth"))) sd.Add(k, t);
            // ours → torch: the Python reader parses our file and torch.save()s what it found
            var ours = Path.Combine(dir, "ours.safetensors");
            SafetensorsWriter.Write(ours, sd);
            var viaTorch = Path.Combine(dir, "via_torch.pth");
            var (code, _, err) = torch.Run(new[] { Script, "to-pth", ours, viaTorch });
            Assert.True(code == 0, err);
            AssertSameTensors(sd, StateDict.Read(viaTorch));
            // torch → ours: torch.load()s a .pth and the Python writer writes safetensors we read
            var pth = Path.Combine(dir, "src.pth");
            PthWriter.WriteStateDict(pth, sd);
            var theirs = Path.Combine(dir, "theirs.safetensors");
            (code, _, err) = torch.Run(new[] { Script, "from-pth", pth, theirs });
            Assert.True(code == 0, err);
            AssertSameTensors(sd, StateDict.Read(theirs));
            // and the hashes torch computes of our file's tensors equal ours
            var (c2, dump, err2) = torch.Run(new[] { Script, "dump", ours });
            Assert.True(c2 == 0, err2);
            var tensors = System.Text.Json.JsonDocument.Parse(dump).RootElement.GetProperty("tensors");
            foreach (var k in sd.Keys)
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(sd[k].ToContiguousBytes())), tensors.GetProperty(k)[2].GetString());
        }
        finally { Directory.Delete(dir, true); }
    }

    private static byte[] File8(string json, byte[]? data = null, long? lengthOverride = null)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + (data?.Length ?? 0)];
        BinaryPrimitives.WriteInt64LittleEndian(b, lengthOverride ?? h.Length);
        h.CopyTo(b, 8);
        data?.CopyTo(b, 8 + h.Length);
        return b;
    }

    public static TheoryData<string, string> Hostile() => new()
    {
        { "length-huge", "outside 1.." },
        { "length-past-end", "runs past the end" },
        { "not-object", "does not start with" },
        { "bad-json", "not valid JSON" },
        { "bad-utf8", "not valid JSON" },
        { "duplicate", "twice" },
        { "f8", "dtype 'F8_E4M3' is not supported" },
        { "negative-shape", "not an integer" },
        { "size-mismatch", "needs 8 bytes but data_offsets span 4" },
        { "overlap", "overlaps" },
        { "gap", "gap of" },
        { "trailing", "cover 8 bytes but the data section holds 12" },
        { "past-end", "cover 16 bytes but the data section holds 8" },
        { "backwards", "run backwards" },
        { "meta-number", "is not a string" },
        { "entry-string", "is not an object" },
        { "unknown-field", "unknown field" },
        { "missing-field", "needs dtype, shape and data_offsets" },
        { "deep", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileHeadersAreRefusedNamingTheProblem(string which, string expected)
    {
        var d8 = new byte[8];
        const string ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        byte[] file = which switch
        {
            "length-huge" => File8(ok, d8, 1L << 40),
            "length-past-end" => File8(ok, d8, 100),
            "not-object" => File8("[1,2]   "),
            "bad-json" => File8("{\"a\":"),
            "bad-utf8" => File8("{\"\u00e9\":1}").Select((x, i) => i == 10 ? (byte)0xFF : x).ToArray(),
            "duplicate" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d8),
            "f8" => File8("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}", d8),
            "negative-shape" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", d8),
            "size-mismatch" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]),
            "overlap" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d8),
            "gap" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", d8),
            "trailing" => File8(ok, new byte[12]),
            "past-end" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", d8),
            "backwards" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", d8),
            "meta-number" => File8("{\"__metadata__\":{\"format\":1}}"),
            "entry-string" => File8("{\"a\":\"F32\"}"),
            "unknown-field" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", d8),
            "missing-field" => File8("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", d8),
            "deep" => File8("{\"__metadata__\":" + new string('[', 64) + new string(']', 64) + "}"),
            _ => throw new ArgumentException(which),
        };
        var e = Assert.Throws<PthFormatException>(() => SafetensorsFile.ReadBytes(file, "hostile.safetensors").ToStateDict());
        Assert.Contains(expected, e.Message);
        Assert.Contains("hostile.safetensors", e.Message);
    }

    [Fact]
    public void ShortFilesAreRefused()
    {
        for (int n = 0; n < 9; n++)
            Assert.Throws<PthFormatException>(() => SafetensorsFile.ReadBytes(new byte[n], "short.safetensors"));
    }

    [Fact]
    public void FiveThousandMutationsOnlyEverRaisePthFormatException()
    {
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("MM_FUZZ_ITERATIONS"), out var it) ? it : 5_000;
        var rnd = new Random(20261201);
        var seeds = new[] { "dtypes.safetensors", "minimind3_bf16.safetensors" }.Select(s => File.ReadAllBytes(StFixture(s))).ToArray();
        int parsed = 0;
        var failures = new List<string>();
        for (int i = 0; i < iterations; i++)
        {
            var src = seeds[rnd.Next(seeds.Length)];
            var b = (byte[])src.Clone();
            long headerEnd = 8 + BinaryPrimitives.ReadInt64LittleEndian(src);
            int muts = 1 + rnd.Next(4);
            for (int m = 0; m < muts && b.Length > 0; m++)
            {
                // most mutations hit the length and the JSON header, where the structure is
                int pos = rnd.Next(3) > 0 ? rnd.Next((int)Math.Min(headerEnd, b.Length)) : rnd.Next(b.Length);
                switch (rnd.Next(6))
                {
                    case 0: b[pos] ^= (byte)(1 << rnd.Next(8)); break;
                    case 1: b[pos] = (byte)"0123456789-,[]{}\":eE.+ "[rnd.Next(23)]; break;
                    case 2: b[pos] = (byte)rnd.Next(256); break;
                    case 3: Array.Resize(ref b, pos); break;
                    case 4: b = b[..pos].Concat(b[Math.Min(b.Length, pos + 1 + rnd.Next(8))..]).ToArray(); break;
                    default: b = b[..pos].Concat(Encoding.ASCII.GetBytes(new[] { "9", "99999999999", "-1", ",", "\"F32\"", "[0,0]" }[rnd.Next(6)])).Concat(b[pos..]).ToArray(); break;
                }
            }
            try
            {
                var sd = SafetensorsFile.ReadBytes(b, "fuzz.safetensors").ToStateDict();
                foreach (var (_, t) in sd) { t.ToFloat32(); if (!t.DType.IsFloatingPoint()) t.ToInt64(); }
                parsed++;
            }
            catch (PthFormatException) { }
            catch (Exception e) { if (failures.Count < 5) failures.Add($"iteration {i}: {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.InRange(parsed, 1, iterations - 1); // the mutations both keep and break files
    }

    [Fact]
    public void StateDictReadAcceptsSafetensorsWhereverPthIsAccepted()
    {
        var a = StateDict.Read(TestPaths.Fixture("minimind3_bf16.pth"));
        var b = StateDict.Read(StFixture("minimind3_bf16.safetensors"));
        AssertSameTensors(a, b);
        Assert.EndsWith("minimind3_bf16.safetensors", b.SourcePath);
    }
}

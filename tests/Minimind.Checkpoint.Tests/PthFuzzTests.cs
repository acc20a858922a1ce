using System.Security.Cryptography;

namespace Minimind.Checkpoint.Tests;

/// <summary>
/// Seeded mutation fuzzing of real fixtures: every outcome must be success or PthFormatException —
/// never another exception, a hang or a huge allocation. Inputs that ever failed are kept in
/// tests/fixtures/pth/regressions and replayed.
/// </summary>
public class PthFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[] Seeds =
    {
        "minimind2024_f32.pth", "minimind2024_legacy.pth", "resume.pth", "views.pth", "dtypes.pth",
        "deflated_other_top.pth", "adamw.pth", "minimind3_bf16.pth", "big_endian.pth", "parameter.pth",
        // Saved by torch 2.x itself (its extra records, its pickles).
        "torch2/resume.pth", "torch2/minimind2_hf_f16.pth", "torch2/adamw.pth",
    };

    /// <summary>Reads and materialises everything; returns null on success or PthFormatException, else the unexpected exception.</summary>
    private static Exception? TryAll(byte[] bytes) => TryAll(bytes, out _);

    private static Exception? TryAll(byte[] bytes, out bool parsed)
    {
        parsed = false;
        try
        {
            var f = PthReader.ReadBytes(bytes, "fuzz.pth");
            var stack = new Stack<object?>();
            stack.Push(f.Root);
            while (stack.Count > 0)
            {
                switch (stack.Pop())
                {
                    case TorchTensor t:
                        t.ToFloat32();
                        if (!t.DType.IsFloatingPoint()) t.ToInt64();
                        break;
                    case PickleDict d: foreach (var kv in d) stack.Push(kv.Value); break;
                    case List<object?> l: foreach (var x in l) stack.Push(x); break;
                    case object?[] a: foreach (var x in a) stack.Push(x); break;
                }
            }
            try { StateDict.FromRoot(f.Root, "fuzz.pth"); } catch (PthFormatException) { }
            parsed = true;
            return null;
        }
        catch (PthFormatException) { return null; }
        catch (Exception e) { return e; }
    }

    private static byte[] Mutate(byte[] src, Random rnd, (int start, int length) hot)
    {
        var b = (byte[])src.Clone();
        int n = 1 + rnd.Next(4);
        for (int m = 0; m < n; m++)
        {
            // Half of the mutations hit the pickle, where the interesting structure is.
            int pos = hot.length > 0 && rnd.Next(2) == 0 ? hot.start + rnd.Next(hot.length) : rnd.Next(b.Length);
            pos = Math.Min(pos, b.Length - 1); // earlier deletions may have shortened the input
            switch (rnd.Next(7))
            {
                case 0: b[pos] ^= (byte)(1 << rnd.Next(8)); break;
                case 1: b[pos] = (byte)rnd.Next(256); break;
                case 2: b[pos] = new byte[] { 0, 0xFF, 0x7F, 0x80, 0x01, (byte)'.', (byte)'(' }[rnd.Next(7)]; break;
                case 3:
                    {
                        uint v = new uint[] { 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000, 0 }[rnd.Next(5)];
                        for (int i = 0; i < 4 && pos + i < b.Length; i++) b[pos + i] = (byte)(v >> (8 * i));
                        break;
                    }
                case 4: Array.Resize(ref b, Math.Max(0, pos)); return b; // truncate
                case 5:
                    {
                        int len = Math.Min(1 + rnd.Next(16), b.Length - pos);
                        b = b[..pos].Concat(b[(pos + len)..]).ToArray(); // delete a run
                        break;
                    }
                default:
                    {
                        var ins = new byte[1 + rnd.Next(8)];
                        rnd.NextBytes(ins);
                        b = b[..pos].Concat(ins).Concat(b[pos..]).ToArray();
                        break;
                    }
            }
            if (b.Length == 0) return b;
        }
        return b;
    }

    private static (int, int) PickleRange(byte[] file)
    {
        // data.pkl is the first record of a torch zip (data at 64); a legacy file is all pickle up front.
        if (file.Length > 64 && file[0] == 'P')
        {
            int i = file.AsSpan(64).IndexOf("PK\u0007\u0008"u8);
            return (64, i > 0 ? i : file.Length - 64);
        }
        return (0, Math.Min(file.Length, 4096));
    }

    [Fact]
    public void TenThousandMutationsOnlyEverRaisePthFormatException()
    {
        // MM_FUZZ_ITERATIONS / MM_FUZZ_SEED allow longer local campaigns; CI runs the seeded 10,000.
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("MM_FUZZ_ITERATIONS"), out var it) ? it : 10_000;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("MM_FUZZ_SEED"), out var sd) ? sd : 20241128;
        var rnd = new Random(seed);
        int ok = 0;
        var seeds = Seeds.Select(s => File.ReadAllBytes(TestPaths.Fixture(s))).ToArray();
        var hot = seeds.Select(PickleRange).ToArray();
        var failures = new List<string>();
        string keep = Path.Combine(Path.GetTempPath(), "mm-pth-fuzz-failures");
        for (int iter = 0; iter < iterations; iter++)
        {
            int k = rnd.Next(seeds.Length);
            var input = Mutate(seeds[k], rnd, hot[k]);
            var e = TryAll(input, out bool parsed);
            if (parsed) ok++;
            if (e is null) continue;
            Directory.CreateDirectory(keep);
            var name = Convert.ToHexStringLower(SHA256.HashData(input))[..16] + ".bin";
            File.WriteAllBytes(Path.Combine(keep, name), input);
            if (failures.Count < 10) failures.Add($"iteration {iter} ({Seeds[k]}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}\n  kept as {Path.Combine(keep, name)} (copy it to tests/fixtures/pth/regressions/)");
        }
        output.WriteLine($"{iterations} mutations (seed {seed}): {ok} still parsed and materialised, {iterations - ok - failures.Count} refused with PthFormatException, {failures.Count} other");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    public static IEnumerable<object[]> Regressions() =>
        Directory.GetFiles(Path.Combine(TestPaths.Fixtures, "regressions"), "*.bin").Select(p => new object[] { Path.GetFileName(p) });

    [Theory]
    [MemberData(nameof(Regressions))]
    public void KeptHostileInputsFailCleanly(string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "regressions", name));
        Assert.Null(TryAll(bytes, out bool parsed));
        Assert.False(parsed, name + " should be refused");
    }

    [Fact]
    public void RecursionAndAllocationBombsAreRefused()
    {
        // 100k nested lists: EMPTY_LIST, then (APPEND into the previous) ... built flat on the stack.
        var nested = new List<byte> { 0x80, 2 };
        for (int i = 0; i < 100_000; i++) nested.Add((byte)']');
        for (int i = 0; i < 100_000 - 1; i++) nested.Add((byte)'a');
        nested.Add((byte)'.');
        var ex = Assert.Throws<PthFormatException>(() => PthReader.ReadBytes(Zip(nested.ToArray()), "bomb.pth"));
        Assert.Contains("deeper", ex.Message);
        Assert.Contains("bomb.pth", ex.Message);

        // A list that contains itself.
        var cyc = Zip(new byte[] { 0x80, 2, (byte)']', (byte)'q', 0, (byte)'h', 0, (byte)'a', (byte)'.' });
        Assert.Contains("cycle", Assert.Throws<PthFormatException>(() => PthReader.ReadBytes(cyc, "cycle.pth")).Message);

        // A 4-element storage viewed as 2^40 elements via stride 0.
        var sd = PthReader.Read(TestPaths.Fixture("views.pth"));
        var st = ((TorchTensor)((PickleDict)sd.Root!)["expand"]!).Storage;
        var bomb = Assert.Throws<PthFormatException>(() => new TorchTensor(st, TorchDType.F32, 0, new[] { 1 << 20, 1 << 20 }, new long[] { 0, 0 }));
        Assert.Contains("refusing the allocation", bomb.Message);
        Assert.Throws<PthFormatException>(() => new TorchTensor(st, TorchDType.F32, 1, new[] { 3 }, new long[] { 1 }));
    }

    private static byte[] Zip(byte[] pickle)
    {
        var ms = new MemoryStream();
        using (var z = new System.IO.Compression.ZipArchive(ms, System.IO.Compression.ZipArchiveMode.Create, true))
        {
            using (var s = z.CreateEntry("bomb/data.pkl", System.IO.Compression.CompressionLevel.NoCompression).Open()) s.Write(pickle);
        }
        return ms.ToArray();
    }
}

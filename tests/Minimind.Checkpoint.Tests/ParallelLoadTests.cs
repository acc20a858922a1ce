namespace Minimind.Checkpoint.Tests;

/// <summary>
/// Loading cuts contiguous tensors into pieces copied by several threads: the result must equal an
/// element-by-element decode of the bytes, whatever the dtype, piece boundaries, views and tied keys.
/// </summary>
public class ParallelLoadTests
{
    private const int Big = StateDictLoader.PieceElements * 2 + 12345; // three pieces, the last one ragged

    private static TorchStorage Storage(string key, TorchDType dt, byte[] bytes) => new(key, dt, bytes.Length, ByteSource.FromArray(bytes, "test"));

    private static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static byte[] FiniteFloats(int n, int seed)
    {
        var f = new float[n];
        var rnd = new Random(seed);
        for (int i = 0; i < n; i++) f[i] = (float)(rnd.NextDouble() * 8 - 4);
        var b = new byte[n * 4];
        Buffer.BlockCopy(f, 0, b, 0, b.Length);
        return b;
    }

    // The independent reference: decode one element's raw little-endian bits by hand.
    private static float Decode(byte[] raw, TorchDType dt, long element) => dt switch
    {
        TorchDType.F32 => BitConverter.ToSingle(raw, (int)(4 * element)),
        TorchDType.F16 => (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(raw, (int)(2 * element))),
        TorchDType.BF16 => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(raw, (int)(2 * element)) << 16),
        _ => throw new ArgumentOutOfRangeException(nameof(dt)),
    };

    private static void AssertDecoded(float[] dest, long at, byte[] raw, TorchDType dt, long firstElement, Func<long, long> index, long count, string what)
    {
        for (long i = 0; i < count; i++)
        {
            float want = Decode(raw, dt, firstElement + index(i)), got = dest[at + i];
            if (!(want.Equals(got))) Assert.Fail($"{what}: element {i} is {got}, the file's bytes say {want}");
        }
    }

    private static (StateDict sd, ParameterTable table, Dictionary<string, byte[]> raw) Model()
    {
        var raw = new Dictionary<string, byte[]>
        {
            ["emb"] = FiniteFloats(Big, 3),
            ["half"] = RandomBytes(Big * 2, 4),         // every f16 bit pattern the bytes give, NaNs and infinities included
            ["bf"] = RandomBytes((Big + 7) * 2, 5),     // the bf16 tensor starts 7 elements into its storage
            ["t"] = FiniteFloats(6 * 4, 6),             // read as a transposed (strided) view
            ["out"] = FiniteFloats(Big, 7),             // tied to emb in the table, but its own storage in the file
        };
        var sd = new StateDict();
        sd.Add("emb", new TorchTensor(Storage("0", TorchDType.F32, raw["emb"]), TorchDType.F32, 0, new[] { Big }, new long[] { 1 }));
        sd.Add("half", new TorchTensor(Storage("1", TorchDType.F16, raw["half"]), TorchDType.F16, 0, new[] { Big }, new long[] { 1 }));
        sd.Add("bf", new TorchTensor(Storage("2", TorchDType.BF16, raw["bf"]), TorchDType.BF16, 7, new[] { Big }, new long[] { 1 }));
        sd.Add("t", new TorchTensor(Storage("3", TorchDType.F32, raw["t"]), TorchDType.F32, 0, new[] { 4, 6 }, new long[] { 1, 4 }));
        sd.Add("out", new TorchTensor(Storage("4", TorchDType.F32, raw["out"]), TorchDType.F32, 0, new[] { Big }, new long[] { 1 }));
        var table = new ParameterTable();
        table.Add("emb", Big);
        table.Add("t", 4, 6);
        table.Add("half", Big);
        table.Add("bf", Big);
        table.AddTied("out", "emb");
        return (sd, table, raw);
    }

    private static void AssertLoaded(float[] dest, ParameterTable table, Dictionary<string, byte[]> raw)
    {
        // "out" names the same offset as "emb" and comes later in the table, so it wins, as in a one-thread load.
        AssertDecoded(dest, table["emb"].Offset, raw["out"], TorchDType.F32, 0, i => i, Big, "tied out/emb");
        AssertDecoded(dest, table["half"].Offset, raw["half"], TorchDType.F16, 0, i => i, Big, "f16");
        AssertDecoded(dest, table["bf"].Offset, raw["bf"], TorchDType.BF16, 7, i => i, Big, "bf16 at offset 7");
        AssertDecoded(dest, table["t"].Offset, raw["t"], TorchDType.F32, 0, i => (i % 6) * 4 + i / 6, 24, "transposed view");
    }

    [Fact]
    public void InMemoryAndFileBackedLoadsMatchTheDecodedBytes()
    {
        var (sd, table, raw) = Model();
        var dest = new float[table.TotalElements];
        dest.AsSpan().Fill(float.NaN);
        StateDictLoader.Load(sd, table, dest, strict: true);
        AssertLoaded(dest, table, raw);

        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "big.pth");
            PthWriter.WriteStateDict(path, sd);
            var fromFile = StateDict.Read(path);
            var dest2 = new float[table.TotalElements];
            dest2.AsSpan().Fill(float.NaN);
            StateDictLoader.Load(fromFile, table, dest2, strict: true);
            AssertLoaded(dest2, table, raw);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void RangeCopyOfOneTensorEqualsTheWholeCopy()
    {
        var (sd, _, _) = Model();
        foreach (var name in new[] { "emb", "half", "bf" })
        {
            var t = sd[name];
            var whole = t.ToFloat32();
            foreach (var (first, count) in new (long, int)[] { (0, 1), (1, 4097), (Big - 3, 3), (StateDictLoader.PieceElements - 1, 2), (12345, 0) })
            {
                var part = new float[count];
                t.CopyRangeToFloat32(first, part);
                Assert.Equal(whole.AsSpan((int)first, count).ToArray(), part);
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => t.CopyRangeToFloat32(Big - 1, new float[2]));
        }
        Assert.Throws<InvalidOperationException>(() => sd["t"].CopyRangeToFloat32(0, new float[1]));
    }

    [Fact]
    public void AFileTruncatedAfterParsingFailsWithTheReadersOwnException()
    {
        var (sd, table, _) = Model();
        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "cut.pth");
            PthWriter.WriteStateDict(path, sd);
            var parsed = StateDict.Read(path);
            using (var fs = new FileStream(path, FileMode.Open)) fs.SetLength(fs.Length / 2); // e.g. torch.save rewriting it in place
            var ex = Assert.Throws<PthFormatException>(() => StateDictLoader.Load(parsed, table, new float[table.TotalElements], strict: true));
            Assert.Contains(path, ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>Runs alone: it counts the bytes every thread of the process allocates.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCountingCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "allocation counting";
}

/// <summary>The memory rule: loading holds at most one extra copy of the largest tensor.</summary>
[Collection(AllocationCountingCollection.Name)]
public class LoadMemoryTests
{
    [Theory]
    [InlineData(TorchDType.F32)]
    [InlineData(TorchDType.F16)]
    [InlineData(TorchDType.BF16)]
    public void LoadingAllocatesLessThanOneCopyOfTheLargestTensor(TorchDType dtype)
    {
        var table = new ParameterTable();
        table.Add("emb", 3 << 20);          // the largest tensor: 3 Mi elements (6 MB as f16/bf16, 12 MB as f32)
        table.Add("w1", 1000, 1000);
        table.Add("w2", 700, 1300);
        table.AddTied("out", "emb");
        var rnd = new Random(9);
        var w = new float[table.TotalElements];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rnd.NextDouble() - 0.5);
        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "m.pth");
            PthWriter.WriteStateDict(path, StateDictLoader.Export(table, w, dtype));
            var dest = new float[table.TotalElements];
            StateDictLoader.Load(StateDict.Read(path), table, dest, strict: true); // warm up: JIT, thread pool, array pool
            long largest = (3L << 20) * dtype.ElementSize();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            StateDictLoader.Load(StateDict.Read(path), table, dest, strict: true);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.True(allocated < largest, $"{dtype}: loading allocated {allocated} bytes, one copy of the largest tensor is {largest}");
            for (int i = 0; i < w.Length; i += 997)
                Assert.Equal(dtype == TorchDType.F32 ? w[i] : dtype == TorchDType.F16 ? (float)(Half)w[i] : BF16(w[i]), dest[i]);
        }
        finally { Directory.Delete(dir, true); }
    }

    // Round to nearest even, as torch's .bfloat16() does (finite inputs only here).
    private static float BF16(float x)
    {
        uint b = BitConverter.SingleToUInt32Bits(x);
        b += 0x7FFF + ((b >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(b & 0xFFFF0000);
    }
}

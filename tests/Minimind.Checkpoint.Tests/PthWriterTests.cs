using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using Minimind.Tests;

namespace Minimind.Checkpoint.Tests;

/// <summary>The writer: layout, self round trip, real-torch round trip, atomicity.</summary>
public class PthWriterTests
{
    /// <summary>A resume dict like the trainer writes: model + AdamW state + plain values.</summary>
    internal static PickleDict ResumeDict(StateDict model)
    {
        var rnd = new Random(7);
        var state = new PickleDict();
        int i = 0;
        foreach (var (_, t) in model)
        {
            var n = (int)t.Numel;
            state[(long)i++] = new PickleDict
            {
                ["step"] = TorchTensor.FromFloat32(new[] { 12f }, Array.Empty<int>()),
                ["exp_avg"] = TorchTensor.FromFloat32(Enumerable.Range(0, n).Select(_ => (float)rnd.NextDouble() - 0.5f).ToArray(), t.Shape),
                ["exp_avg_sq"] = TorchTensor.FromFloat32(Enumerable.Range(0, n).Select(_ => (float)rnd.NextDouble() * 1e-3f).ToArray(), t.Shape),
            };
        }
        var group = new PickleDict
        {
            ["lr"] = 5e-4, ["betas"] = new object?[] { 0.9, 0.95 }, ["eps"] = 1e-8, ["weight_decay"] = 0.1,
            ["amsgrad"] = false, ["foreach"] = null, ["maximize"] = false, ["capturable"] = false,
            ["params"] = Enumerable.Range(0, i).Select(x => (object?)(long)x).ToList(),
        };
        return new PickleDict
        {
            ["model"] = model.ToRoot(),
            ["optimizer"] = new PickleDict { ["state"] = state, ["param_groups"] = new List<object?> { group } },
            ["epoch"] = 3L, ["step"] = 123456789012L, ["world_size"] = 1L, ["wandb_id"] = null, ["name"] = "minimind ✓ 中文",
            ["big"] = 1L << 40, ["neg"] = -(1L << 40), ["max"] = long.MaxValue, ["min"] = long.MinValue, ["m129"] = -129L, ["i31"] = 1L << 31,
            ["flag"] = true, ["tuple"] = new object?[] { 1L, "a", 2.5, null }, ["empty"] = new List<object?>(), ["emptyd"] = new PickleDict(),
            ["nan"] = double.NaN, ["negzero"] = -0.0,
        };
    }

    internal static StateDict TiedModel(TorchDType dtype, int seed = 1)
    {
        var table = new ParameterTable();
        table.Add("model.embed_tokens.weight", 16, 8);
        table.Add("model.layers.0.self_attn.q_proj.weight", 8, 8);
        table.Add("model.norm.weight", 8);
        table.Add("scalar", Array.Empty<int>());
        table.AddTied("lm_head.weight", "model.embed_tokens.weight");
        var rnd = new Random(seed);
        var w = Enumerable.Range(0, (int)table.TotalElements).Select(_ => (float)(rnd.NextDouble() * 4 - 2)).ToArray();
        w[0] = float.NaN; w[1] = float.PositiveInfinity; w[2] = 1e-40f; w[3] = -0f; w[4] = 70000f;
        return StateDictLoader.Export(table, w, dtype);
    }

    [Fact]
    public void WrittenFileReadsBackWithSameValuesTiesAndAlignment()
    {
        var dir = TestPaths.TempDir();
        try
        {
            foreach (var dt in new[] { TorchDType.F32, TorchDType.F16, TorchDType.BF16 })
            {
                var sd = TiedModel(dt);
                var path = Path.Combine(dir, $"m_{dt}.pth");
                PthWriter.WriteStateDict(path, sd);
                var back = StateDict.Read(path);
                Assert.Equal(sd.Keys, back.Keys);
                foreach (var (k, t) in sd)
                {
                    Assert.Equal(t.DType, back[k].DType);
                    Assert.Equal(t.Shape, back[k].Shape);
                    Assert.Equal(t.ToContiguousBytes(), back[k].ToContiguousBytes());
                }
                Assert.Same(back["model.embed_tokens.weight"].Storage, back["lm_head.weight"].Storage);
                var pth = PthReader.Read(path);
                Assert.Equal($"m_{dt}", pth.TopFolder);
                Assert.Equal(4, pth.Storages.Count); // the tied weight is stored once

                // Layout: every record's data starts on a 64-byte boundary; .NET's own zip reader agrees on the contents.
                var bytes = File.ReadAllBytes(path);
                using var za = new ZipArchive(new MemoryStream(bytes), ZipArchiveMode.Read);
                foreach (var e in za.Entries)
                {
                    Assert.Equal(e.Length, e.CompressedLength);
                    int off = FindLocalHeader(bytes, e.FullName);
                    int dataStart = off + 30 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(off + 26)) + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(off + 28));
                    Assert.Equal(0, dataStart % 64);
                    using var s = e.Open();
                    var ms = new MemoryStream();
                    s.CopyTo(ms);
                    Assert.Equal(bytes.AsSpan(dataStart, (int)e.Length).ToArray(), ms.ToArray());
                }
                Assert.Equal(new[] { "data.pkl", "byteorder", "data/0", "data/1", "data/2", "data/3", "version" },
                             za.Entries.Select(e => e.FullName[(e.FullName.IndexOf('/') + 1)..]));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    private static int FindLocalHeader(byte[] b, string name)
    {
        var nb = System.Text.Encoding.UTF8.GetBytes(name);
        for (int i = 0; i + 30 + nb.Length <= b.Length; i++)
            if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 3 && b[i + 3] == 4 && b.AsSpan(i + 30, nb.Length).SequenceEqual(nb)) return i;
        throw new InvalidOperationException("no local header for " + name);
    }

    [Fact]
    public void ViewsAndLegacyFilesRewriteToZipWithTheSameValues()
    {
        var dir = TestPaths.TempDir();
        try
        {
            foreach (var f in new[] { "views.pth", "minimind2024_legacy.pth", "dtypes.pth", "resume.pth", "big_endian.pth" })
            {
                var src = PthReader.Read(TestPaths.Fixture(f));
                var outPath = Path.Combine(dir, f);
                PthWriter.Write(outPath, src.Root!);
                var back = PthReader.Read(outPath);
                Assert.Equal(PthFormat.Zip, back.Format);
                var a = ObjectTreeFlattener.Flatten(src.Root);
                var b = ObjectTreeFlattener.Flatten(back.Root);
                Assert.Equal(a.Keys, b.Keys);
                foreach (var k in a.Keys)
                {
                    if (a[k].Value is TorchTensor ta)
                    {
                        var tb = (TorchTensor)b[k].Value!;
                        Assert.Equal(ta.ToContiguousBytes(), tb.ToContiguousBytes());
                        Assert.Equal(ta.Stride, tb.Stride);
                        Assert.Equal(ta.StorageOffset, tb.StorageOffset);
                    }
                    else Assert.Equal(a[k], b[k] with { Value = b[k].Value is List<string> l ? a[k].Value : b[k].Value });
                }
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableTheory]
    [InlineData("torch1")]
    [InlineData("torch2")]
    public void TorchLoadsOurFilesWithWeightsOnlyBitForBit(string torchName)
    {
        var torch = TestEnvironment.Torch(torchName);
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        var dir = TestPaths.TempDir();
        try
        {
            var files = new List<(string path, object root)>();
            foreach (var dt in new[] { TorchDType.F32, TorchDType.F16, TorchDType.BF16 })
                files.Add((Path.Combine(dir, $"sd_{dt}.pth"), TiedModel(dt).ToRoot()));
            files.Add((Path.Combine(dir, "resume.pth"), ResumeDict(TiedModel(TorchDType.F32, 2))));
            files.Add((Path.Combine(dir, "views.pth"), PthReader.Read(TestPaths.Fixture("views.pth")).Root!));
            files.Add((Path.Combine(dir, "dtypes.pth"), PthReader.Read(TestPaths.Fixture("dtypes.pth")).Root!));
            foreach (var (path, root) in files) PthWriter.Write(path, root);
            // One interpreter for all files (importing torch costs seconds). Only resume.pth holds Python floats,
            // which torch 1.13's weights_only cannot read (no BINFLOAT): for it the checker proves the pickle
            // stays inside torch 2.x's weights_only subset and loads it unrestricted. torch 2.x loads every file
            // with weights_only=True.
            var all = TestPaths.TorchDump(files.Select(f => f.path), allowBinFloat: torch == TestEnvironment.Torch1, torch);
            foreach (var (path, root) in files)
            {
                var doc = all.GetProperty(path);
                if (Path.GetFileName(path) != "resume.pth" || torch != TestEnvironment.Torch1) Assert.Equal("weights_only", doc.GetProperty("mode").GetString());
                TorchView.AssertSame(Path.GetFileName(path), root, doc.GetProperty("values"));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    private sealed class FailingStream(Stream inner, long failAfter) : WriteOnlyStream(inner)
    {
        protected override void OnWrite(ReadOnlySpan<byte> buffer)
        {
            if (BytesWritten + buffer.Length > failAfter)
            {
                Inner.Write(buffer[..(int)(failAfter - BytesWritten)]);
                throw new IOException("simulated failure: no space left on device");
            }
            Inner.Write(buffer);
        }
    }

    [Fact]
    public void FailedWriteLeavesPreviousFileIntactAndNoTempFile()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "ckpt.pth");
            PthWriter.WriteStateDict(path, TiedModel(TorchDType.F32, 1));
            var before = File.ReadAllBytes(path);
            var other = TiedModel(TorchDType.F32, 2).ToRoot();
            var probe = new MemoryStream();
            PthWriter.Write(probe, other, "ckpt");
            foreach (long failAfter in new long[] { 0, 10, 100, probe.Length / 2, probe.Length - 1 })
            {
                var ex = Assert.Throws<IOException>(() => AtomicFile.Write(path, s => PthWriter.Write(new FailingStream(s, failAfter), other, "ckpt")));
                Assert.Contains(path, ex.Message);
                Assert.Contains("simulated failure", ex.Message);
                Assert.Equal(before, File.ReadAllBytes(path));
                Assert.Equal(new[] { "ckpt.pth" }, Directory.GetFiles(dir).Select(Path.GetFileName));
            }
            // An object the writer cannot express fails before any file is touched.
            Assert.Throws<NotSupportedException>(() => PthWriter.Write(path, new PickleDict { ["x"] = new System.Text.StringBuilder() }));
            Assert.Equal(before, File.ReadAllBytes(path));
            // A missing folder is named.
            var missing = Path.Combine(dir, "nope", "x.pth");
            var ex2 = Assert.Throws<DirectoryNotFoundException>(() => PthWriter.WriteStateDict(missing, TiedModel(TorchDType.F32)));
            Assert.Contains(Path.Combine(dir, "nope"), ex2.Message);
            // And a successful write replaces the file.
            PthWriter.Write(path, other);
            Assert.NotEqual(before, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>Zip64 fields: forced on a small file, read back by this reader, .NET's ZipArchive and (when present) torch.</summary>
public class Zip64Tests
{
    [SkippableTheory]
    [InlineData("torch1")]
    [InlineData("torch2")]
    public void Zip64ExtraFieldsReadBackEverywhere(string torchName)
    {
        var torch = TestEnvironment.Torch(torchName);
        var dir = TestPaths.TempDir();
        try
        {
            var sd = PthWriterTests.TiedModel(TorchDType.F32, 3);
            var path = Path.Combine(dir, "z64.pth");
            using (var fs = File.Create(path)) PthWriter.Write(fs, sd.ToRoot(), "z64", zip64Threshold: 0);
            var bytes = File.ReadAllBytes(path);
            // Every central-directory entry carries a zip64 extra (id 1) since the threshold is 0.
            int cd = 0, z64 = 0;
            for (int i = 0; i + 46 < bytes.Length; i++)
                if (bytes[i] == 'P' && bytes[i + 1] == 'K' && bytes[i + 2] == 1 && bytes[i + 3] == 2)
                {
                    cd++;
                    int nameLen = BitConverter.ToUInt16(bytes, i + 28);
                    if (BitConverter.ToUInt16(bytes, i + 30) > 0 && BitConverter.ToUInt16(bytes, i + 46 + nameLen) == 1
                        && BitConverter.ToUInt32(bytes, i + 20) == 0xFFFFFFFF && BitConverter.ToUInt32(bytes, i + 42) == 0xFFFFFFFF) z64++;
                }
            Assert.Equal(7, cd);
            Assert.Equal(cd, z64);
            var back = StateDict.Read(path);
            foreach (var (k, t) in sd) Assert.Equal(t.ToContiguousBytes(), back[k].ToContiguousBytes());
            using var za = new System.IO.Compression.ZipArchive(new MemoryStream(bytes));
            Assert.Equal(7, za.Entries.Count);
            Assert.Equal(sd["model.norm.weight"].ToContiguousBytes().Length, za.GetEntry("z64/data/2")!.Length);
            TestEnvironment.RequireTool(torch.Available, torch.SkipReason + " (the torch half of the zip64 check)");
            var doc = TestPaths.TorchDump(new[] { path }, torch: torch).GetProperty(path);
            Assert.Equal("weights_only", doc.GetProperty("mode").GetString());
            TorchView.AssertSame("z64.pth", sd.ToRoot(), doc.GetProperty("values"));
        }
        finally { Directory.Delete(dir, true); }
    }
}

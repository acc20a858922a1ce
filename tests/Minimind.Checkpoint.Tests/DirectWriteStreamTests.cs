using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;

namespace Minimind.Checkpoint.Tests;

/// <summary>
/// O_DIRECT changes how a checkpoint file reaches the disk, never what it holds: files, resume folders and .pth written
/// through <see cref="DirectWriteStream"/> are byte-identical to the buffered path's (and to the bytes handed in), at
/// lengths that end inside a block, exactly on one, and across staging buffers; where a filesystem refuses O_DIRECT
/// the buffered path takes over with the same bytes.
/// </summary>
public class DirectWriteStreamTests
{
    private const int Block = DirectWriteStream.Alignment, Staging = DirectWriteStream.StagingBytes;

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Block - 1)]
    [InlineData(Block)]
    [InlineData(Block + 1)]
    [InlineData(Staging - 1)]
    [InlineData(Staging)]
    [InlineData(Staging + 1)]
    [InlineData(2 * Staging + 3 * Block + 17)]
    public void DirectAndBufferedFilesHoldTheSameBytes(int length)
    {
        var payload = Payload(length, seed: length);
        var dir = TestPaths.TempDir();
        try
        {
            Skip.IfNot(DirectIoWorks(dir), $"{dir} refuses O_DIRECT (the fallback is covered by RamfsRefusesDirectIoAndTheBufferedPathWritesTheSameBytes)");
            string direct = Path.Combine(dir, "direct.bin"), buffered = Path.Combine(dir, "buffered.bin");
            // Preallocating a lower bound of the size, as PthWriter does, must not change the length either.
            using (var s = DurableFileStream.CreateNew(direct, preallocationSize: length / 2))
            {
                var d = Assert.IsType<DirectWriteStream>(s);
                Assert.True(OpenWithODirect(d), "the file was not opened with O_DIRECT");
                WriteInChunks(s, payload, seed: 1);
                s.FlushToDisk();
            }
            using (var s = DurableFileStream.CreateNew(buffered, preallocationSize: length / 2, directIo: false))
            {
                Assert.IsType<WritebackStream>(s);
                WriteInChunks(s, payload, seed: 1);
                s.FlushToDisk();
            }
            Assert.True(payload.AsSpan().SequenceEqual(File.ReadAllBytes(direct)), $"the O_DIRECT file of {length} bytes differs from what was written");
            Assert.True(payload.AsSpan().SequenceEqual(File.ReadAllBytes(buffered)), $"the buffered file of {length} bytes differs from what was written");
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void ResumeFolderThroughDirectIoMatchesTheBufferedOne()
    {
        var dir = TestPaths.TempDir();
        try
        {
            Skip.IfNot(DirectIoWorks(dir), $"{dir} refuses O_DIRECT");
            var weights = new float[1_000_003]; // 4,000,012 bytes: ends inside a block
            var rng = new Random(5);
            for (int i = 0; i < weights.Length; i++) weights[i] = (float)(rng.NextDouble() - 0.5);
            var payloads = new Dictionary<string, byte[]>
            {
                ["model.f32"] = MemoryMarshal.AsBytes(weights.AsSpan()).ToArray(),
                ["adam_m.f32"] = Payload(Staging + Block, seed: 6), // whole blocks, one past the staging buffer
                ["state.msgpack"] = Payload(37, seed: 7),
                ["empty.bin"] = Array.Empty<byte>(),
            };
            var files = new List<ResumeFile>
            {
                new("model.f32", s => s.Write(MemoryMarshal.AsBytes(weights.AsSpan()))),
                new("adam_m.f32", s => WriteInChunks(s, payloads["adam_m.f32"], seed: 8)),
                new("state.msgpack", s => s.Write(payloads["state.msgpack"])),
                new("empty.bin", _ => { }),
            };
            string a = ResumeStore.Commit(Path.Combine(dir, "direct"), 7, files, null, directIo: true);
            string b = ResumeStore.Commit(Path.Combine(dir, "buffered"), 7, files, null, directIo: false);
            Assert.Null(ResumeStore.Verify(a, out var ma));
            Assert.Null(ResumeStore.Verify(b, out var mb));
            foreach (var (name, bytes) in payloads)
            {
                Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(a, name))), $"{name} through O_DIRECT differs from its bytes");
                Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, name))), $"{name} through the page cache differs from its bytes");
            }
            // The manifests differ only in their creation time: the same files, lengths and SHA-256 (the hash of the bytes handed in).
            Assert.Equal(ma!.Files.Select(f => (f.Name, f.Length, Convert.ToHexString(f.Sha256))), mb!.Files.Select(f => (f.Name, f.Length, Convert.ToHexString(f.Sha256))));
            foreach (var f in ma.Files) Assert.Equal(Convert.ToHexString(SHA256.HashData(payloads[f.Name])), Convert.ToHexString(f.Sha256));
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void PthThroughDirectIoMatchesTheBufferedOneAndTheInMemoryArchive()
    {
        var dir = TestPaths.TempDir();
        try
        {
            Skip.IfNot(DirectIoWorks(dir), $"{dir} refuses O_DIRECT");
            var w = new float[300_001];
            var rng = new Random(9);
            for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextDouble();
            var root = new PickleDict { ["w"] = TorchTensor.FromFloat32(w, new[] { w.Length }), ["step"] = 5L };
            Directory.CreateDirectory(Path.Combine(dir, "a"));
            Directory.CreateDirectory(Path.Combine(dir, "b"));
            string direct = Path.Combine(dir, "a", "w.pth"), buffered = Path.Combine(dir, "b", "w.pth");
            PthWriter.Write(direct, root); // the public path: O_DIRECT here
            AtomicFile.Write(buffered, s => PthWriter.Write(s, root, "w"), 0, directIo: false);
            var memory = new MemoryStream();
            PthWriter.Write(memory, root, "w");
            Assert.NotEqual(0, memory.Length % Block); // the archive ends inside a block
            Assert.True(memory.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(direct)), "the .pth written with O_DIRECT differs from the archive");
            Assert.True(memory.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(buffered)), "the buffered .pth differs from the archive");
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void RamfsRefusesDirectIoAndTheBufferedPathWritesTheSameBytes()
    {
        var dir = TestPaths.TempDir();
        var mnt = Path.Combine(dir, "ramfs");
        Directory.CreateDirectory(mnt);
        try
        {
            var (code, output) = TestEnvironment.Run("mount", "-t", "ramfs", "ramfs", mnt);
            Skip.If(code != 0, $"cannot mount a ramfs here ({output.Trim()}); the fallback test needs root and mount permission");
            try
            {
                var payload = Payload(Staging + Block + 5, seed: 3);
                var path = Path.Combine(mnt, "f.bin");
                using (var s = DurableFileStream.CreateNew(path))
                {
                    Assert.IsType<WritebackStream>(s); // ramfs has no direct I/O: fcntl(F_SETFL, O_DIRECT) is EINVAL
                    WriteInChunks(s, payload, seed: 4);
                    s.FlushToDisk();
                }
                Assert.True(payload.AsSpan().SequenceEqual(File.ReadAllBytes(path)), "the fallback file differs from what was written");
            }
            finally { TestEnvironment.Run("umount", "-l", mnt); }
        }
        finally { Directory.Delete(dir, true); }
    }

    [SkippableFact]
    public void TmpfsGetsTheSameBytes()
    {
        Skip.IfNot(Directory.Exists("/dev/shm"), "no /dev/shm");
        var dir = Path.Combine("/dev/shm", "mm-direct-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            // Kernels before 6.6 refuse O_DIRECT on tmpfs, later ones accept it unaligned: either way the bytes are the same.
            var payload = Payload(2 * Block + 1, seed: 2);
            var path = Path.Combine(dir, "f.bin");
            AtomicFile.Write(path, s => WriteInChunks(s, payload, seed: 5));
            Assert.True(payload.AsSpan().SequenceEqual(File.ReadAllBytes(path)), "the tmpfs file differs from what was written");
        }
        finally { Directory.Delete(dir, true); }
    }

    private static byte[] Payload(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    // 1 byte .. 3 MiB per call, now and then more than a whole staging buffer in one call.
    private static void WriteInChunks(Stream s, byte[] payload, int seed)
    {
        var sizes = new Random(seed);
        int off = 0;
        while (off < payload.Length)
        {
            int n = sizes.Next(4) == 0 ? sizes.Next(1, 64) : sizes.Next(8) == 0 ? Staging + 5 : sizes.Next(1, 3 << 20);
            n = Math.Min(n, payload.Length - off);
            s.Write(payload, off, n);
            off += n;
        }
    }

    // Whether a new file in `dir` can be switched to O_DIRECT (ext4/xfs: yes; ramfs, old tmpfs, other systems: no).
    private static bool DirectIoWorks(string dir)
    {
        var probe = Path.Combine(dir, ".probe");
        try
        {
            using var h = File.OpenHandle(probe, FileMode.CreateNew, FileAccess.Write);
            return DirectWriteStream.TryEnable(h);
        }
        finally { File.Delete(probe); }
    }

    // The kernel's own record of the descriptor's open flags (octal; O_DIRECT is 040000 on x86-64, 0200000 on arm64).
    private static bool OpenWithODirect(DirectWriteStream s)
    {
        int fd = (int)s.Handle.DangerousGetHandle();
        var flags = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        long value = Convert.ToInt64(flags["flags:".Length..].Trim(), 8);
        long oDirect = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;
        return (value & oDirect) != 0;
    }
}

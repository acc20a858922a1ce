using Minimind.Checkpoint.Resume;

namespace Minimind.Training.Tests;

public class ResumeStoreTests
{
    internal static ResumeFile[] Files(long step) => new[]
    {
        new ResumeFile("a.bin", s => s.Write(Enumerable.Range(0, 5000).Select(i => (byte)(i * 7 + step)).ToArray())),
        new ResumeFile("b.txt", s => s.Write("step "u8.ToArray().Concat(BitConverter.GetBytes(step)).ToArray())),
    };

    [Fact]
    public void CommitThenVerifyRoundTrips()
    {
        using var t = new TempDir();
        var dir = ResumeStore.Commit(t.Path, 12, Files(12));
        Assert.Equal(Path.Combine(t.Path, "step_000012"), dir);
        Assert.Null(ResumeStore.Verify(dir, out var m));
        Assert.Equal(12, m!.Step);
        Assert.Equal(new[] { "a.bin", "b.txt" }, m.Files.Select(f => f.Name));
        Assert.Equal(5000, m.Files[0].Length);
        // The recorded hash is the SHA-256 of the bytes on disk.
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "a.bin"))), m.Files[0].Sha256);
        // No temporary folders are left behind.
        Assert.Single(Directory.GetDirectories(t.Path));
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("missing")]
    [InlineData("flip")]
    [InlineData("manifest-truncated")]
    [InlineData("no-manifest")]
    public void DamagedNewestFallsBackToPrevious(string damage)
    {
        using var t = new TempDir();
        ResumeStore.Commit(t.Path, 10, Files(10));
        var newest = ResumeStore.Commit(t.Path, 20, Files(20));
        var a = Path.Combine(newest, "a.bin");
        var man = Path.Combine(newest, ResumeStore.ManifestFileName);
        switch (damage)
        {
            case "truncate": using (var fs = new FileStream(a, FileMode.Open)) fs.SetLength(fs.Length - 1); break;
            case "missing": File.Delete(a); break;
            case "flip": { var b = File.ReadAllBytes(a); b[1234] ^= 0x10; File.WriteAllBytes(a, b); break; }
            case "manifest-truncated": { var b = File.ReadAllBytes(man); File.WriteAllBytes(man, b[..(b.Length / 2)]); break; }
            case "no-manifest": File.Delete(man); break;
        }
        var reports = new List<string>();
        var c = ResumeStore.FindNewestValid(t.Path, reports.Add);
        Assert.NotNull(c);
        Assert.Equal(10, c!.Step);
        var msg = Assert.Single(reports);
        Assert.Contains("step_000020", msg);
        Assert.NotNull(ResumeStore.Verify(newest, out _));
    }

    [Fact]
    public void NoValidCheckpointGivesNull()
    {
        using var t = new TempDir();
        Assert.Null(ResumeStore.FindNewestValid(Path.Combine(t.Path, "nothing-here")));
        var d = ResumeStore.Commit(t.Path, 1, Files(1));
        File.Delete(Path.Combine(d, "b.txt"));
        Assert.Null(ResumeStore.FindNewestValid(t.Path));
    }

    [Fact]
    public void PruneKeepsTheNewestK()
    {
        using var t = new TempDir();
        foreach (var s in new long[] { 3, 6, 9, 12, 15 }) ResumeStore.Commit(t.Path, s, Files(s));
        // A leftover temp folder of a killed process is cleaned up too.
        Directory.CreateDirectory(Path.Combine(t.Path, ".tmp_step_000018_999999_deadbeef"));
        ResumeStore.Prune(t.Path, 3);
        Assert.Equal(new long[] { 15, 12, 9 }, ResumeStore.ListSteps(t.Path).Select(c => c.Step));
        Assert.Equal(3, Directory.GetDirectories(t.Path).Length);
    }

    [Fact]
    public void RecommittingAStepReplacesIt()
    {
        using var t = new TempDir();
        ResumeStore.Commit(t.Path, 5, Files(5));
        var d = ResumeStore.Commit(t.Path, 5, Files(6));
        Assert.Null(ResumeStore.Verify(d, out _));
        Assert.Equal((byte)6, File.ReadAllBytes(Path.Combine(d, "a.bin"))[0]);
        Assert.Single(Directory.GetDirectories(t.Path));
    }

    [Fact]
    public void DiskFullDuringWriteLeavesPreviousIntact()
    {
        using var t = new TempDir();
        var good = ResumeStore.Commit(t.Path, 4, Files(4));
        var failing = new[]
        {
            new ResumeFile("a.bin", s => { s.Write(new byte[100]); throw new IOException("No space left on device"); }),
        };
        var e = Assert.Throws<IOException>(() => ResumeStore.Commit(t.Path, 8, failing));
        Assert.Contains("No space left on device", e.Message);
        Assert.Contains("step_000008", e.Message);
        Assert.Contains("step_000004 is intact", e.Message);
        Assert.Null(ResumeStore.Verify(good, out _));
        Assert.Equal(new[] { good }, Directory.GetDirectories(t.Path));
    }

    [Fact]
    public void UnwritableRootGivesClearError()
    {
        using var t = new TempDir();
        // A file where the checkpoint folder should go: fails even for root, unlike chmod.
        var blocked = Path.Combine(t.Path, "checkpoints");
        File.WriteAllText(blocked, "not a folder");
        var e = Assert.Throws<IOException>(() => ResumeStore.Commit(blocked, 1, Files(1)));
        Assert.Contains("could not write the resume state", e.Message);
        Assert.Contains(blocked, e.Message);
    }

    [Fact]
    public void ManifestRejectsTampering()
    {
        var m = new ResumeManifest { Step = 7, CreatedUtc = "x", Files = new[] { new ResumeFileEntry("f", 3, new byte[32]) } };
        var bytes = m.Serialize();
        var back = ResumeManifest.Deserialize(bytes, "m");
        Assert.Equal(7, back.Step);
        Assert.Equal("f", back.Files[0].Name);
        bytes[5] ^= 1;
        Assert.Throws<InvalidDataException>(() => ResumeManifest.Deserialize(bytes, "m"));
    }
}

/// <summary>Pruning never loses the newest good checkpoint or a pinned one.</summary>
public class PruneSafetyTests
{
    private static ResumeFile[] Files(long s) => ResumeStoreTests.Files(s);

    [Fact]
    public void KeepEveryPinsAndTheNewestGoodOutlivesKeepLast()
    {
        using var t = new TempDir();
        foreach (var s in new long[] { 2, 4, 6, 8, 10, 12 }) ResumeStore.Commit(t.Path, s, Files(s));
        // The two newest are damaged (a disk error, a copy cut short): keep-last 2 alone would leave nothing to resume from.
        foreach (var s in new long[] { 12, 10 }) File.WriteAllBytes(Path.Combine(t.Path, ResumeStore.FolderName(s), "a.bin"), new byte[] { 9 });
        ResumeStore.Prune(t.Path, keepLast: 2, keepEvery: 4);
        // 12, 10: keep-last; 8: pinned (and the newest good); 4: pinned; 6 and 2 go.
        Assert.Equal(new long[] { 12, 10, 8, 4 }, ResumeStore.ListSteps(t.Path).Select(c => c.Step));
        ResumeStore.Prune(t.Path, keepLast: 1, keepEvery: 0);
        // Without pins: 12 (keep-last) and 8, the newest that verifies.
        Assert.Equal(new long[] { 12, 8 }, ResumeStore.ListSteps(t.Path).Select(c => c.Step));
        Assert.Equal(8, ResumeStore.FindNewestValid(t.Path)!.Step);
    }

    [Fact]
    public void TheRunLockAdmitsOneHolderAndNamesIt()
    {
        using var t = new TempDir();
        var root = Path.Combine(t.Path, "checkpoints", "pretrain_8");
        using (var first = RunLock.Acquire(root, "minimind train --out-dir x"))
        {
            Assert.True(RunLock.IsHeld(root));
            var e = Assert.Throws<RunLockedException>(() => RunLock.Acquire(root, "second"));
            Assert.Contains($"PID {Environment.ProcessId}", e.Message);
            Assert.Contains("minimind train --out-dir x", e.Message);
            Assert.Contains(root, e.Message);
        }
        Assert.False(RunLock.IsHeld(root));
        using var again = RunLock.Acquire(root, "third"); // the lock file left behind does not block
        Assert.Contains("third", RunLock.ReadOwner(root));
    }
}

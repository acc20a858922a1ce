namespace Minimind.Checkpoint.Tests;

/// <summary>Every fsync and rename result is checked, and nothing throws once a rename has put the new file in place.</summary>
public class DurableIoTests
{
    private static string NewDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "mm-durable-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public void FolderSyncFindsTheCLibraryAndReportsFailuresWithThePath()
    {
        if (!OperatingSystem.IsLinux()) return; // the folder fsync is a Linux call; elsewhere it is documented as a no-op
        var sync = new DirectorySync(DirectorySync.DefaultLibraries);
        Assert.True(sync.Available);
        var d = NewDir();
        try
        {
            sync.SyncFolder(d); // a real folder syncs
            var missing = Path.Combine(d, "no-such-folder");
            var e = Assert.Throws<IOException>(() => sync.SyncFolder(missing));
            Assert.Contains(missing, e.Message);
            Assert.Contains("errno 2", e.Message); // ENOENT, read from errno right after the call
        }
        finally { Directory.Delete(d, true); }
    }

    [Fact]
    public void WithoutAnyCLibraryTheSyncWarnsOnceInsteadOfThrowing()
    {
        if (!OperatingSystem.IsLinux()) return;
        // As on a system without libc.so.6 (the old DllImport threw DllNotFoundException after the rename there).
        var sync = new DirectorySync(new[] { "libmm-no-such-libc.so.6" });
        Assert.False(sync.Available);
        var warnings = new List<string>();
        var d = NewDir();
        try
        {
            sync.SyncFolder(d, warnings.Add);
            sync.SyncFolder(d, warnings.Add);
            Assert.Single(warnings);
            Assert.Contains("not fsynced", warnings[0]);
        }
        finally { Directory.Delete(d, true); }
    }

    [Fact]
    public void AFailingFolderSyncAfterTheRenameIsReportedNotThrown()
    {
        var d = NewDir();
        var seen = new List<string>();
        var old = Durability.Warn;
        try
        {
            Durability.Warn = m => { lock (seen) seen.Add(m); };
            // The folder is gone by the time of the sync: open fails, and the caller, whose file is already renamed, hears of it.
            var gone = Path.Combine(d, "gone");
            AtomicFile.SyncAfterRename(gone, Path.Combine(gone, "x.pth"));
            if (OperatingSystem.IsLinux()) Assert.Contains(seen, m => m.Contains(Path.Combine(gone, "x.pth")) && m.Contains("was written"));
        }
        finally { Durability.Warn = old; Directory.Delete(d, true); }
    }

    [Fact]
    public void ExtraRecordsRoundTripAndLeaveTheStateDictAlone()
    {
        var d = NewDir();
        try
        {
            var path = Path.Combine(d, "w.pth");
            var sd = new StateDict();
            sd.Add("a.weight", TorchTensor.FromFloat32(new[] { 1f, 2f, 3f, 4f }, new[] { 2, 2 }));
            sd.Extras["minimind.json"] = "{\"x\": 1}"u8.ToArray();
            PthWriter.WriteStateDict(path, sd);
            var f = PthReader.Read(path);
            Assert.Equal("{\"x\": 1}"u8.ToArray(), f.Extras["minimind.json"]);
            var back = StateDict.Read(path);
            Assert.Equal(new[] { "a.weight" }, back.Keys);
            Assert.Equal(new[] { 1f, 2f, 3f, 4f }, back["a.weight"].ToFloat32());
            Assert.Equal("{\"x\": 1}"u8.ToArray(), back.Extras["minimind.json"]);
            Assert.Throws<ArgumentException>(() => PthWriter.Write(path, sd.ToRoot(), new[] { new KeyValuePair<string, byte[]>("a/b", new byte[1]) }));
        }
        finally { Directory.Delete(d, true); }
    }
}

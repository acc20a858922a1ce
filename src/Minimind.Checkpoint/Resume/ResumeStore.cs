using System.Globalization;
using System.Security.Cryptography;

namespace Minimind.Checkpoint.Resume;

/// <summary>One file to put into a resume-state folder: its name and a callback that writes its bytes.</summary>
public sealed record ResumeFile(string Name, Action<Stream> Write);

/// <summary>A committed step folder found on disk, with the verdict of <see cref="ResumeStore.Verify"/> when checked.</summary>
public sealed record ResumeCandidate(string Path, long Step);

/// <summary>
/// The resume-state folder format: <c>&lt;root&gt;/step_000123/</c> holding any number of files plus
/// <c>manifest.msgpack</c> (the commit mark, with every file's length and SHA-256).
/// A folder is written as <c>.tmp_…</c>, every file fsynced, the manifest written last, the folder
/// fsynced, then renamed into place and the root fsynced: a crash at any moment leaves either the
/// complete new folder or none, and never touches older folders. Readers trust a folder only when its
/// manifest and every checksum verify, and fall back to the previous one otherwise.
/// </summary>
public static class ResumeStore
{
    /// <summary>The commit mark's file name.</summary>
    public const string ManifestFileName = "manifest.msgpack";
    private const string TempPrefix = ".tmp_";
    private const string OldPrefix = ".old_";

    /// <summary>Folder name of a step: <c>step_000123</c>.</summary>
    public static string FolderName(long step) => "step_" + step.ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes a complete step folder under <paramref name="root"/> and returns its path. On any failure
    /// the partial folder is removed; an I/O failure becomes an IOException naming the folder and saying earlier
    /// ones are intact, any other exception of a file's writer propagates unchanged.
    /// Re-committing an existing step replaces it only after the new copy is complete.
    /// <paramref name="beforeManifest"/> runs when every file is durable and before the manifest is written:
    /// in a multi-process job, the barrier at which every rank reports its own files durable.
    /// </summary>
    public static string Commit(string root, long step, IReadOnlyList<ResumeFile> files, Action? beforeManifest = null) =>
        Commit(root, step, files, beforeManifest, directIo: true);

    /// <summary>As above; <paramref name="directIo"/> false keeps every file in the buffered path (tests compare both).</summary>
    internal static string Commit(string root, long step, IReadOnlyList<ResumeFile> files, Action? beforeManifest, bool directIo)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            if (f.Name == ManifestFileName || f.Name.Contains('/') || f.Name.Contains('\\') || f.Name.StartsWith('.') || !names.Add(f.Name))
                throw new ArgumentException($"invalid or duplicate resume file name '{f.Name}'", nameof(files));
        }
        var final = Path.Combine(root, FolderName(step));
        string tmp = Path.Combine(root, $"{TempPrefix}{FolderName(step)}_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..8]}");
        string? old = null;
        try
        {
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(tmp);
            var entries = new List<ResumeFileEntry>(files.Count);
            foreach (var f in files)
            {
                using var fs = DurableFileStream.CreateNew(Path.Combine(tmp, f.Name), bufferSize: 1 << 20, directIo: directIo);
                using var hs = new HashingWriteStream(fs);
                f.Write(hs);
                fs.FlushToDisk();
                entries.Add(new ResumeFileEntry(f.Name, hs.BytesWritten, hs.FinishHash()));
            }
            beforeManifest?.Invoke();
            var manifest = new ResumeManifest { Step = step, CreatedUtc = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture), Files = entries };
            using (var fs = DurableFileStream.CreateNew(Path.Combine(tmp, ManifestFileName), directIo: directIo))
            {
                fs.Write(manifest.Serialize());
                fs.FlushToDisk();
            }
            DirectorySync.Sync(tmp);
            if (Directory.Exists(final))
            {
                old = Path.Combine(root, $"{OldPrefix}{FolderName(step)}_{Environment.ProcessId}_{Guid.NewGuid().ToString("N")[..8]}");
                Directory.Move(final, old);
            }
            Directory.Move(tmp, final);
        }
        catch (Exception e)
        {
            TryDelete(tmp);
            // A replaced step goes back where it was, so a failed re-commit never loses the committed copy.
            if (old is not null && !Directory.Exists(final)) { try { Directory.Move(old, final); } catch (IOException) { } }
            // Anything but an I/O failure (a file's writer calling the save off) goes on as it is, leaving nothing behind.
            if (e is not (IOException or UnauthorizedAccessException)) throw;
            var prev = ListSteps(root).FirstOrDefault(c => c.Step != step);
            string intact = prev is null ? "no earlier checkpoint exists" : $"the previous checkpoint {prev.Path} is intact";
            throw new IOException($"could not write the resume state {final}: {e.Message} ({intact})", e);
        }
        // Committed: from here on nothing throws (a failing fsync of the root is reported, the folder is complete).
        AtomicFile.SyncAfterRename(root, final);
        if (old is not null) TryDelete(old);
        return final;
    }

    /// <summary>Bytes of every file in a committed step folder (the size the next save will need again).</summary>
    public static long FolderBytes(string dir) =>
        Directory.Exists(dir) ? new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length) : 0;

    /// <summary>Committed step folders under <paramref name="root"/>, newest (highest step) first.</summary>
    public static IReadOnlyList<ResumeCandidate> ListSteps(string root)
    {
        if (!Directory.Exists(root)) return Array.Empty<ResumeCandidate>();
        var r = new List<ResumeCandidate>();
        foreach (var d in Directory.EnumerateDirectories(root))
        {
            var name = Path.GetFileName(d);
            if (name.StartsWith("step_", StringComparison.Ordinal) &&
                long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var step))
                r.Add(new ResumeCandidate(d, step));
        }
        r.Sort((a, b) => b.Step.CompareTo(a.Step));
        return r;
    }

    /// <summary>
    /// Checks a step folder: the manifest decodes and its own checksum holds, its step matches the folder
    /// name, and every listed file exists with the recorded length and SHA-256.
    /// Returns null when it verifies, otherwise a sentence saying what is wrong.
    /// </summary>
    public static string? Verify(string dir, out ResumeManifest? manifest)
    {
        manifest = null;
        var mpath = Path.Combine(dir, ManifestFileName);
        if (!File.Exists(mpath)) return $"{dir}: no {ManifestFileName} (the write never completed)";
        ResumeManifest m;
        try { m = ResumeManifest.Deserialize(File.ReadAllBytes(mpath), mpath); }
        catch (Exception e) when (e is InvalidDataException or IOException) { return e.Message; }
        if (Path.GetFileName(dir) != FolderName(m.Step)) return $"{dir}: manifest says step {m.Step}, the folder name disagrees";
        foreach (var f in m.Files)
        {
            var p = Path.Combine(dir, f.Name);
            if (!File.Exists(p)) return $"{dir}: file {f.Name} is missing";
            long len = new FileInfo(p).Length;
            if (len != f.Length) return $"{dir}: file {f.Name} has {len} bytes, the manifest recorded {f.Length} (truncated or overwritten)";
            byte[] h;
            using (var fs = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20)) h = SHA256.HashData(fs);
            if (!h.AsSpan().SequenceEqual(f.Sha256)) return $"{dir}: file {f.Name} fails its SHA-256 check (damaged)";
        }
        manifest = m;
        return null;
    }

    /// <summary>
    /// The newest step folder that verifies; every newer one that does not is reported through
    /// <paramref name="report"/> (one sentence each) and skipped. Null when none verifies.
    /// </summary>
    public static ResumeCandidate? FindNewestValid(string root, Action<string>? report = null)
    {
        foreach (var c in ListSteps(root))
        {
            var problem = Verify(c.Path, out _);
            if (problem is null) return c;
            report?.Invoke($"checkpoint {FolderName(c.Step)} is damaged and was skipped: {problem}");
        }
        return null;
    }

    /// <summary>
    /// Keeps the newest <paramref name="keepLast"/> step folders and deletes older ones, plus leftover
    /// temporary folders of other (dead) processes. Never deleted: a folder whose step is a multiple of
    /// <paramref name="keepEvery"/> (pinned, when it is above 0), and the newest folder that verifies — when
    /// none of the kept ones does (damaged, or interrupted copies), older folders are checked newest first
    /// and the first good one is kept too. <paramref name="knownGood"/>, a folder the caller has just
    /// committed, counts as verified without reading it again.
    /// </summary>
    public static void Prune(string root, int keepLast, int keepEvery = 0, string? knownGood = null)
    {
        if (keepLast < 1) throw new ArgumentOutOfRangeException(nameof(keepLast), "--keep-last must be at least 1");
        if (keepEvery < 0) throw new ArgumentOutOfRangeException(nameof(keepEvery), "--keep-every must be 0 (off) or positive");
        if (!Directory.Exists(root)) return;
        var steps = ListSteps(root);
        bool Good(ResumeCandidate c) => (knownGood is not null && Path.GetFullPath(c.Path) == Path.GetFullPath(knownGood)) || Verify(c.Path, out _) is null;
        bool haveGood = false;
        for (int i = 0; i < steps.Count; i++)
        {
            var c = steps[i];
            bool pinned = keepEvery > 0 && c.Step % keepEvery == 0;
            if (i < keepLast || pinned)
            {
                if (!haveGood && Good(c)) haveGood = true;
                continue;
            }
            if (!haveGood && Good(c)) { haveGood = true; continue; } // the newest good checkpoint outlives keep-last
            TryDelete(c.Path);
        }
        string mine = $"_{Environment.ProcessId}_";
        foreach (var d in Directory.EnumerateDirectories(root))
        {
            var name = Path.GetFileName(d);
            if ((name.StartsWith(TempPrefix, StringComparison.Ordinal) || name.StartsWith(OldPrefix, StringComparison.Ordinal)) && !name.Contains(mine))
                TryDelete(d);
        }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

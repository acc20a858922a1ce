using System.Text;

namespace Minimind.Checkpoint.Resume;

/// <summary>
/// One run per checkpoint folder: an exclusive advisory lock on <c>&lt;folder&gt;/run.lock</c>, held for the
/// life of the trainer. .NET opens the file with <c>FileShare.None</c>, which on Linux and macOS is an
/// <c>flock(LOCK_EX|LOCK_NB)</c> and on Windows a share-mode lock: either way the operating system drops
/// it when the process dies, so a lock left by a killed trainer never blocks a resume. The holder's PID,
/// start time and command line go into <c>run.lock.owner</c> (a separate file, readable while the lock is
/// held) so the second trainer can say who holds the folder.
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>The lock file's name inside the folder.</summary>
    public const string FileName = "run.lock";
    /// <summary>The file naming the holder.</summary>
    public const string OwnerFileName = "run.lock.owner";

    private readonly FileStream _lock;

    /// <summary>The locked folder.</summary>
    public string Folder { get; }

    private RunLock(string folder, FileStream fs) { Folder = folder; _lock = fs; }

    /// <summary>
    /// Takes the folder's lock at once (creating the folder), or throws a <see cref="RunLockedException"/>
    /// naming the holder's PID and command line when another process has it.
    /// </summary>
    public static RunLock Acquire(string folder, string commandLine)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        FileStream fs;
        try { fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Taken by another process, or not writable at all (a read-only filesystem, permissions): only a lock that a
            // read-only open cannot take either is held by someone.
            if (File.Exists(path) && IsHeld(path, FileAccess.Read)) throw new RunLockedException(folder, ReadOwner(folder), e);
            throw new IOException($"cannot take the run lock {path}: {e.Message}. The output folder is not writable (a read-only filesystem, or no " +
                "write permission): checkpoints could not be saved there; give a writable --out-dir", e);
        }
        var owner = $"pid {Environment.ProcessId}\nstarted {DateTime.UtcNow:O}\nhost {Environment.MachineName}\ncommand {commandLine}\n";
        try
        {
            AtomicFile.Write(Path.Combine(folder, OwnerFileName), s => s.Write(Encoding.UTF8.GetBytes(owner)));
        }
        catch { fs.Dispose(); throw; }
        return new RunLock(folder, fs);
    }

    /// <summary>
    /// The holder recorded in <paramref name="folder"/> ("PID N (started ... on HOST): command"), or a note that none is
    /// recorded. A recorded PID of this host that no longer runs is said to be dead: the lock is then held by a process
    /// that did not record itself (it died before writing the owner file, or runs in another PID namespace).
    /// </summary>
    public static string ReadOwner(string folder)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(folder, OwnerFileName));
            string Field(string k) => lines.FirstOrDefault(l => l.StartsWith(k + " ", StringComparison.Ordinal))?[(k.Length + 1)..] ?? "?";
            string owner = $"PID {Field("pid")} (started {Field("started")} on {Field("host")}): {Field("command")}";
            if (Field("host") == Environment.MachineName && int.TryParse(Field("pid"), out int pid) && !IsRunning(pid))
                return $"a process that did not record itself: the recorded owner, {owner}, is no longer running";
            return owner;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "a process that recorded no owner"; }
    }

    /// <summary>True when some process holds the folder's lock right now (tries to take it and lets it go).</summary>
    public static bool IsHeld(string folder)
    {
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) && IsHeld(path, FileAccess.Read);
    }

    // The lock is an flock on the file, which a read-only descriptor takes as well: so a read-only folder is not mistaken for a held one.
    private static bool IsHeld(string path, FileAccess access)
    {
        try { using var fs = new FileStream(path, FileMode.Open, access, FileShare.None); return false; }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; } // no such process
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Releases the lock (the owner file stays: it only matters while the lock is held).</summary>
    public void Dispose() => _lock.Dispose();
}

/// <summary>Another trainer holds the checkpoint folder.</summary>
public sealed class RunLockedException : IOException
{
    /// <summary>The holder as recorded in the folder.</summary>
    public string Holder { get; }

    /// <summary>Builds the message naming the folder and holder.</summary>
    public RunLockedException(string folder, string holder, Exception inner)
        : base($"{folder} is in use by another training run, {holder}. Two runs in one folder would interleave their checkpoints; " +
               "wait for it to finish or stop it (Ctrl+C saves a checkpoint), then continue with --resume, or use another --out-dir / --save-weight.", inner)
        => Holder = holder;
}

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
        catch (IOException e) when (File.Exists(path))
        {
            throw new RunLockedException(folder, ReadOwner(folder), e);
        }
        var owner = $"pid {Environment.ProcessId}\nstarted {DateTime.UtcNow:O}\nhost {Environment.MachineName}\ncommand {commandLine}\n";
        try
        {
            AtomicFile.Write(Path.Combine(folder, OwnerFileName), s => s.Write(Encoding.UTF8.GetBytes(owner)));
        }
        catch { fs.Dispose(); throw; }
        return new RunLock(folder, fs);
    }

    /// <summary>The holder recorded in <paramref name="folder"/> ("pid N, command ..."), or a note that none is recorded.</summary>
    public static string ReadOwner(string folder)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(folder, OwnerFileName));
            string Field(string k) => lines.FirstOrDefault(l => l.StartsWith(k + " ", StringComparison.Ordinal))?[(k.Length + 1)..] ?? "?";
            return $"PID {Field("pid")} (started {Field("started")} on {Field("host")}): {Field("command")}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "a process that recorded no owner"; }
    }

    /// <summary>True when some process holds the folder's lock right now (tries to take it and lets it go).</summary>
    public static bool IsHeld(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return false;
        try { using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None); return false; }
        catch (IOException) { return true; }
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

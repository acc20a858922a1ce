using System.Diagnostics;
using System.Globalization;
using System.Text;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>Starts the real CLI under Open MPI's mpirun (or alone) and finds the ranks' processes.</summary>
public sealed class MpiRun
{
    /// <summary>mpirun's path, or null when Open MPI is not installed (the tests then skip and say so).</summary>
    public static readonly string? Mpirun = new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists);

    /// <summary>The skip reason when mpirun is missing.</summary>
    public const string Missing = "mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) to run the data-parallel tests";

    private readonly StringBuilder _out = new();
    /// <summary>The launcher (mpirun, or the CLI itself for one process).</summary>
    public Process Process { get; }

    private MpiRun(ProcessStartInfo psi)
    {
        Process = new Process { StartInfo = psi };
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        Process.Start();
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>Runs <c>minimind</c> with <paramref name="ranks"/> argument lists: one list = a single process without mpirun (np=1 through mpirun when <paramref name="viaMpirun"/>).</summary>
    public static MpiRun Start(IReadOnlyList<string[]> ranks, bool viaMpirun = false, IDictionary<string, string>? env = null)
    {
        ProcessStartInfo psi;
        if (ranks.Count == 1 && !viaMpirun)
        {
            psi = new ProcessStartInfo("dotnet");
            psi.ArgumentList.Add(TestPaths.CliDll);
            foreach (var a in ranks[0]) psi.ArgumentList.Add(a);
        }
        else
        {
            psi = new ProcessStartInfo(Mpirun!);
            foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none" }) psi.ArgumentList.Add(a);
            // Identical argument lists run as one app context; differing ones as MPMD contexts ("a : b").
            var groups = new List<(int Count, string[] Args)>();
            foreach (var r in ranks)
                if (groups.Count > 0 && groups[^1].Args.SequenceEqual(r)) groups[^1] = (groups[^1].Count + 1, r);
                else groups.Add((1, r));
            for (int g = 0; g < groups.Count; g++)
            {
                if (g > 0) psi.ArgumentList.Add(":");
                psi.ArgumentList.Add("-np"); psi.ArgumentList.Add(groups[g].Count.ToString(CultureInfo.InvariantCulture));
                psi.ArgumentList.Add("-x"); psi.ArgumentList.Add("DOTNET_TieredPGO");
                psi.ArgumentList.Add("dotnet"); psi.ArgumentList.Add(TestPaths.CliDll);
                foreach (var a in groups[g].Args) psi.ArgumentList.Add(a);
            }
        }
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        psi.Environment["DOTNET_TieredPGO"] = "0";
        if (env is not null) foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
        return new MpiRun(psi);
    }

    /// <summary>Everything printed so far.</summary>
    public string Output { get { lock (_out) return _out.ToString(); } }

    /// <summary>Waits for the launcher to end (fails the test after <paramref name="seconds"/>); returns its exit code.</summary>
    public int Wait(int seconds = 240)
    {
        if (!Process.WaitForExit(seconds * 1000))
        {
            try { Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            Assert.Fail($"the job did not end within {seconds} s:\n{Output}");
        }
        Process.WaitForExit();
        return Process.ExitCode;
    }

    /// <summary>Waits for a successful end.</summary>
    public string Finish()
    {
        int rc = Wait();
        Assert.True(rc == 0, $"exit code {rc}:\n{Output}");
        return Output;
    }

    /// <summary>The process id of rank <paramref name="rank"/> (a child of mpirun carrying OMPI_COMM_WORLD_RANK), or null while it has not started.</summary>
    public int? RankPid(int rank)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (ppid != Process.Id) continue;
                var env = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (env.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            catch (FormatException) { }
        }
        return null;
    }
}

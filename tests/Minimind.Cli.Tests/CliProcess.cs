using System.Diagnostics;
using System.Text;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>The built CLI as a child process: run to the end, or start and watch its output.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly StringBuilder _output = new(), _stdout = new();

    /// <summary>The process.</summary>
    public Process Process { get; }

    private CliProcess(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(TestPaths.CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process = new Process { StartInfo = psi };
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) { _output.AppendLine(e.Data); _stdout.AppendLine(e.Data); } };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        Process.Start();
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>minimind ARGS</c>.</summary>
    public static CliProcess Start(params string[] args) => new(args);

    /// <summary>
    /// Runs <c>minimind ARGS</c> to the end with <paramref name="stdin"/> written to its standard input, which is then closed
    /// (null: no input stream), and returns the exit code, stdout and stderr apart, byte for byte (control characters
    /// such as \r included, which the line-based <see cref="Run"/> would split on).
    /// </summary>
    public static (int code, string stdout, string stderr) Exec(string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        psi.ArgumentList.Add(TestPaths.CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(600_000)) { p.Kill(true); throw new TimeoutException("minimind " + string.Join(' ', args)); }
        return (p.ExitCode, so.Result, se.Result);
    }

    /// <summary>Runs <c>minimind ARGS</c> to the end: exit code and stdout + stderr.</summary>
    public static (int Code, string Output) Run(params string[] args)
    {
        using var p = Start(args);
        return (p.WaitForExit(600), p.Output);
    }

    /// <summary>What went to stdout alone (stdout and stderr arrive interleaved in <see cref="Output"/>).</summary>
    public string Stdout { get { lock (_output) return _stdout.ToString(); } }

    /// <summary>Runs <c>minimind ARGS</c> to the end: exit code, stdout + stderr, and stdout alone.</summary>
    public static (int Code, string Output, string Stdout) RunSplit(params string[] args)
    {
        using var p = Start(args);
        int code = p.WaitForExit(600);
        return (code, p.Output, p.Stdout);
    }

    /// <summary>Everything printed so far.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Waits for the exit (throwing after <paramref name="seconds"/>) and returns the exit code.</summary>
    public int WaitForExit(int seconds)
    {
        if (!Process.WaitForExit(seconds * 1000)) { Process.Kill(true); throw new TimeoutException($"minimind did not finish in {seconds} s:\n{Output}"); }
        Process.WaitForExit(); // drains the output events
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try { if (!Process.HasExited) Process.Kill(true); } catch (InvalidOperationException) { }
        Process.Dispose();
    }
}

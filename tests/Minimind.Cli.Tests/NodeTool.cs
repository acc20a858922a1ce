using System.Diagnostics;

namespace Minimind.Cli.Tests;

/// <summary>Runs a Node.js script of a tools/&lt;area&gt; folder (its node_modules installed by .ci/run) to the end.</summary>
internal static class NodeTool
{
    /// <summary><c>node ARGS</c> in <paramref name="toolDir"/>: exit code, stdout and stderr.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string toolDir, params string[] args)
    {
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = toolDir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(300_000)) { p.Kill(true); throw new TimeoutException("node " + string.Join(' ', args)); }
        return (p.ExitCode, so.Result, se.Result);
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Minimind.Cli.Tests;

/// <summary><c>minimind serve --port 0 ARGS</c> as a child process: started, its address read from its log, stopped with SIGTERM or killed.</summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly CliProcess _cli;

    private ServeProcess(CliProcess cli, string baseUrl) { _cli = cli; BaseUrl = baseUrl; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string BaseUrl { get; }
    /// <summary>Everything the server printed so far.</summary>
    public string Output => _cli.Output;

    [GeneratedRegex(@"serve: listening on (http://\S+)")] private static partial Regex Listening();

    /// <summary>Starts the server and waits (up to 2 minutes) until it listens.</summary>
    public static ServeProcess Start(params string[] args)
    {
        var cli = CliProcess.Start(new[] { "serve", "--port", "0" }.Concat(args).ToArray());
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (Listening().Match(cli.Output) is { Success: true } m) return new ServeProcess(cli, m.Groups[1].Value);
            if (cli.Process.HasExited) break;
            Thread.Sleep(100);
        }
        string output = cli.Output;
        cli.Dispose();
        throw new InvalidOperationException("minimind serve did not start listening:\n" + output);
    }

    /// <summary>Sends SIGTERM (what a service manager sends to stop it).</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", new[] { "-TERM", _cli.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) })!;
        kill.WaitForExit();
    }

    /// <summary>Whether the server printed <paramref name="text"/> within <paramref name="seconds"/>: its log reaches this
    /// process through a pipe read in the background, so a line written a moment ago may not be in <see cref="Output"/> yet.</summary>
    public bool Printed(string text, int seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds) || _cli.Process.HasExited) return Output.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(50);
        }
        return true;
    }

    /// <summary>Waits for the exit and returns its code.</summary>
    public int WaitForExit(int seconds) => _cli.WaitForExit(seconds);

    public void Dispose() => _cli.Dispose();
}

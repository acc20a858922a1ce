using System.Diagnostics;

namespace Minimind.Tests;

/// <summary>
/// What every test project needs from its surroundings: folders found by walking up from the test
/// binary (fixtures, ../shared), the real PyTorch interpreter, temporary folders. Linked into each
/// test project (see the test .csproj files) so there is one copy.
/// </summary>
internal static class TestEnvironment
{
    /// <summary>The interpreter with torch 1.13 (Debian's python3-torch), not the first python3 on PATH.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>The first folder <paramref name="relativeDir"/> found above the test binary, or null.</summary>
    public static string? FindUp(string relativeDir)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, relativeDir);
            if (Directory.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>tests/fixtures/<paramref name="area"/>; throws naming the folder when it is missing.</summary>
    public static string Fixtures(string area) => FindUp(Path.Combine("tests", "fixtures", area))
        ?? throw new DirectoryNotFoundException($"tests/fixtures/{area} not found above {AppContext.BaseDirectory}");

    private static readonly Lazy<bool> _torch = new(() =>
    {
        try { return RunPython("-c \"import torch\"", 120).Code == 0; }
        catch (Exception) { return false; }
    });

    /// <summary>True when <see cref="Python"/> can import torch.</summary>
    public static bool HasTorch => _torch.Value;

    /// <summary>Runs <see cref="Python"/> with a pre-quoted argument string.</summary>
    public static (int Code, string Stdout, string Stderr) RunPython(string arguments, int timeoutSeconds = 300) =>
        Run(new ProcessStartInfo(Python, arguments), arguments, timeoutSeconds);

    /// <summary>Runs <see cref="Python"/> with one argument per element and extra environment variables.</summary>
    public static (int Code, string Stdout, string Stderr) RunPython(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo(Python);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Run(psi, string.Join(' ', psi.ArgumentList), timeoutSeconds);
    }

    private static (int, string, string) Run(ProcessStartInfo psi, string shown, int timeoutSeconds)
    {
        psi.RedirectStandardOutput = true; psi.RedirectStandardError = true; psi.UseShellExecute = false;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(true); throw new TimeoutException("python timed out: " + shown); }
        return (p.ExitCode, so.Result, se.Result);
    }

    /// <summary>A fresh temporary folder named <paramref name="prefix"/>-…; the caller deletes it.</summary>
    public static string NewTempDir(string prefix)
    {
        var d = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(d);
        return d;
    }
}

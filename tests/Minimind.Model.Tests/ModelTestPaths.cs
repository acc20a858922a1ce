using System.Diagnostics;

namespace Minimind.Model.Tests;

/// <summary>Locates tests/fixtures/model and the real PyTorch interpreter.</summary>
internal static class ModelTestPaths
{
    /// <summary>tests/fixtures/model, found by walking up from the test binary.</summary>
    public static string Fixtures { get; } = FindUp(Path.Combine("tests", "fixtures", "model"))
        ?? throw new DirectoryNotFoundException("tests/fixtures/model not found above " + AppContext.BaseDirectory);

    /// <summary>The repository root.</summary>
    public static string RepoRoot => Path.GetFullPath(Path.Combine(Fixtures, "..", "..", ".."));

    /// <summary>The folder of one fixture model, e.g. <c>minimind2-moe</c>.</summary>
    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    private static string? FindUp(string rel)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, rel);
            if (Directory.Exists(p)) return p;
        }
        return null;
    }

    private static readonly Lazy<bool> _torch = new(() =>
    {
        try { return RunPython("-c \"import torch\"", 120).code == 0; }
        catch (Exception) { return false; }
    });

    /// <summary>True when /usr/bin/python3 can import torch.</summary>
    public static bool HasTorch => _torch.Value;

    /// <summary>Runs /usr/bin/python3 with <paramref name="args"/>.</summary>
    public static (int code, string stdout, string stderr) RunPython(string args, int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(true); throw new TimeoutException("python timed out: " + args); }
        return (p.ExitCode, so.Result, se.Result);
    }

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "mm-model-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(d);
        return d;
    }
}

namespace Minimind.Training.Tests;

/// <summary>A fresh temporary folder per test, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>The folder.</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mm-train-" + Guid.NewGuid().ToString("N")[..10]);

    public TempDir() => Directory.CreateDirectory(Path);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Locations the tests need: the repository, the built CLI, real PyTorch.</summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding Minimind.sln), found by walking up from the test assembly.</summary>
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(System.IO.Path.Combine(d.FullName, "Minimind.sln"))) d = d.Parent;
            return d?.FullName ?? throw new DirectoryNotFoundException("cannot find Minimind.sln above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A fixture under tests/fixtures/training.</summary>
    public static string Fixture(string name) => System.IO.Path.Combine(RepoRoot, "tests", "fixtures", "training", name);

    /// <summary>The CLI (minimind.dll) copied next to the test assembly by the project reference.</summary>
    public static string CliDll => System.IO.Path.Combine(AppContext.BaseDirectory, "minimind.dll");

    private static readonly Lazy<bool> _torch = new(() =>
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", "-c \"import torch\"")
            { RedirectStandardError = true, RedirectStandardOutput = true })!;
            p.WaitForExit(60_000);
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    });

    /// <summary>True when /usr/bin/python3 can import torch.</summary>
    public static bool HasTorch => _torch.Value;

    /// <summary>Runs /usr/bin/python3 with <paramref name="args"/>; throws with its stderr on failure.</summary>
    public static string RunPython(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new Exception($"python {string.Join(' ', args)} failed ({p.ExitCode}): {errTask.Result}");
        return output;
    }
}

using Minimind.Tests;

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

    /// <summary>True when /usr/bin/python3 can import torch.</summary>
    public static bool HasTorch => TestEnvironment.HasTorch;

    private static readonly Dictionary<string, string> SingleThread = new() { ["OMP_NUM_THREADS"] = "1" };

    /// <summary>Runs /usr/bin/python3 with <paramref name="args"/>; throws with its stderr on failure.</summary>
    public static string RunPython(params string[] args) => RunPython(TestEnvironment.Torch1, args);

    /// <summary>Runs <paramref name="torch"/>'s interpreter with <paramref name="args"/>; throws with its stderr on failure.</summary>
    internal static string RunPython(TestEnvironment.TorchPython torch, params string[] args)
    {
        var (code, stdout, stderr) = torch.Run(args, SingleThread, timeoutSeconds: 600);
        if (code != 0) throw new Exception($"{torch}: python {string.Join(' ', args)} failed ({code}): {stderr}");
        return stdout;
    }
}

using Minimind.Tests;

namespace Minimind.Checkpoint.Tests;

/// <summary>Locates the committed fixtures and the real PyTorch interpreter.</summary>
internal static class TestPaths
{
    /// <summary>tests/fixtures/pth, found by walking up from the test binary.</summary>
    public static string Fixtures { get; } = TestEnvironment.Fixtures("pth");

    /// <summary>The repository root.</summary>
    public static string RepoRoot => Path.GetFullPath(Path.Combine(Fixtures, "..", "..", ".."));

    /// <summary>A fixture file by name.</summary>
    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    /// <summary>A fixture of one set: "" is torch 1.13's (plus the hand-made files), "torch2" what torch 2.x saved.</summary>
    public static string Fixture(string set, string name) => Path.Combine(Fixtures, set, name);

    /// <summary>True when /usr/bin/python3 can import torch.</summary>
    public static bool HasTorch => TestEnvironment.HasTorch;

    /// <summary>Runs /usr/bin/python3 with <paramref name="args"/>; returns exit code, stdout, stderr.</summary>
    public static (int code, string stdout, string stderr) RunPython(string args, int timeoutSeconds = 300) =>
        TestEnvironment.RunPython(args, timeoutSeconds);

    /// <summary>
    /// Runs tools/pth/torch_dump.py on <paramref name="paths"/> with <paramref name="torch"/> (torch 1.13 when null);
    /// returns its "files" object (path → mode, values).
    /// </summary>
    public static System.Text.Json.JsonElement TorchDump(IEnumerable<string> paths, bool allowBinFloat = false, TestEnvironment.TorchPython? torch = null)
    {
        torch ??= TestEnvironment.Torch1;
        var script = Path.Combine(RepoRoot, "tools", "pth", "torch_dump.py");
        var args = $"\"{script}\" " + string.Join(" ", paths.Select(p => $"\"{p}\"")) + (allowBinFloat ? " --allow-binfloat" : "");
        var (code, stdout, stderr) = torch.Run(args);
        if (code != 0) throw new Xunit.Sdk.XunitException($"{torch}: torch.load(weights_only=True) failed: {stderr}");
        return System.Text.Json.JsonDocument.Parse(stdout).RootElement.GetProperty("files");
    }

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string TempDir() => TestEnvironment.NewTempDir("mm-ckpt");
}

using Minimind.Tests;

namespace Minimind.Model.Tests;

/// <summary>Locates tests/fixtures/model and the real PyTorch interpreter.</summary>
internal static class ModelTestPaths
{
    /// <summary>tests/fixtures/model, found by walking up from the test binary.</summary>
    public static string Fixtures { get; } = TestEnvironment.Fixtures("model");

    /// <summary>The repository root.</summary>
    public static string RepoRoot => Path.GetFullPath(Path.Combine(Fixtures, "..", "..", ".."));

    /// <summary>The folder of one fixture model, e.g. <c>minimind2-moe</c>.</summary>
    public static string Fixture(string name) => Path.Combine(Fixtures, name);

    /// <summary>True when /usr/bin/python3 can import torch.</summary>
    public static bool HasTorch => TestEnvironment.HasTorch;

    /// <summary>Runs /usr/bin/python3 with <paramref name="args"/>.</summary>
    public static (int code, string stdout, string stderr) RunPython(string args, int timeoutSeconds = 300) =>
        TestEnvironment.RunPython(args, timeoutSeconds);

    /// <summary>A fresh temporary folder, deleted by the caller.</summary>
    public static string TempDir() => TestEnvironment.NewTempDir("mm-model");
}

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

    /// <summary>torch 1.13 at <see cref="Python"/> (CI installs Debian's python3-torch).</summary>
    public static readonly TorchPython Torch1 = new("torch1", Python, "apt-get install python3-torch");

    /// <summary>
    /// torch 2.x: the interpreter named by MM_TORCH2_PYTHON, which tools/torch2/setup.sh builds (Debian trixie's
    /// python3-torch in its own root) and .ci/run exports.
    /// </summary>
    public static readonly TorchPython Torch2 = new("torch2", Environment.GetEnvironmentVariable("MM_TORCH2_PYTHON"),
        "run tools/torch2/setup.sh and export MM_TORCH2_PYTHON=<the path it prints>");

    /// <summary><see cref="Torch1"/> or <see cref="Torch2"/> by name ("torch1", "torch2"), for theories over both.</summary>
    public static TorchPython Torch(string name) => name switch
    {
        "torch1" => Torch1,
        "torch2" => Torch2,
        _ => throw new ArgumentException($"unknown torch interpreter '{name}' (torch1 or torch2)", nameof(name)),
    };

    /// <summary>True when <see cref="Python"/> can import torch.</summary>
    public static bool HasTorch => Torch1.Available;

    /// <summary>Runs <see cref="Python"/> with a pre-quoted argument string.</summary>
    public static (int Code, string Stdout, string Stderr) RunPython(string arguments, int timeoutSeconds = 300) =>
        Torch1.Run(arguments, timeoutSeconds);

    /// <summary>Runs <see cref="Python"/> with one argument per element and extra environment variables.</summary>
    public static (int Code, string Stdout, string Stderr) RunPython(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        int timeoutSeconds = 300) => Torch1.Run(args, env, timeoutSeconds);

    /// <summary>One Python interpreter with PyTorch: where it is, whether it imports torch, how to run it.</summary>
    public sealed class TorchPython(string name, string? path, string howToGet)
    {
        private readonly Lazy<bool> _available = new(() =>
        {
            if (string.IsNullOrEmpty(path) || !File.Exists(path)) return false;
            try { return TestEnvironment.Run(new ProcessStartInfo(path, "-c \"import torch\""), "import torch", 120).Item1 == 0; }
            catch (Exception) { return false; }
        });

        /// <summary>"torch1" or "torch2".</summary>
        public string Name => name;

        /// <summary>True when the interpreter exists and imports torch.</summary>
        public bool Available => _available.Value;

        /// <summary>The reason shown when a test skips because this interpreter is missing.</summary>
        public string SkipReason => $"{name}: no Python with torch at '{path ?? "(MM_TORCH2_PYTHON unset)"}' ({howToGet}); this check is skipped";

        /// <summary>Runs the interpreter with a pre-quoted argument string.</summary>
        public (int Code, string Stdout, string Stderr) Run(string arguments, int timeoutSeconds = 300) =>
            TestEnvironment.Run(new ProcessStartInfo(Exe, arguments), arguments, timeoutSeconds);

        /// <summary>Runs the interpreter with one argument per element and extra environment variables.</summary>
        public (int Code, string Stdout, string Stderr) Run(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
            int timeoutSeconds = 300)
        {
            var psi = new ProcessStartInfo(Exe);
            foreach (var a in args) psi.ArgumentList.Add(a);
            if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
            return TestEnvironment.Run(psi, string.Join(' ', psi.ArgumentList), timeoutSeconds);
        }

        private string Exe => path ?? throw new InvalidOperationException(SkipReason);

        /// <summary>The name, so theory cases read "torch1"/"torch2".</summary>
        public override string ToString() => name;
    }

    private static (int, string, string) Run(ProcessStartInfo psi, string shown, int timeoutSeconds)
    {
        psi.RedirectStandardOutput = true; psi.RedirectStandardError = true; psi.UseShellExecute = false;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(true); throw new TimeoutException($"{psi.FileName} timed out: {shown}"); }
        return (p.ExitCode, so.Result, se.Result);
    }

    /// <summary>True when the tests run under CI (CI=true, as .ci/run sets it): there a missing required tool is a failure.</summary>
    public static bool UnderCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A test's requirement on a tool that .ci/run installs (torch 1.13, torch 2.x, mpirun, ptxas/cuobjdump, node-llama-cpp):
    /// when it is missing the test skips, saying <paramref name="reason"/>, except under CI, where it fails — a failed install
    /// must not turn into a green run that checked nothing.
    /// </summary>
    public static void RequireTool(bool available, string reason)
    {
        if (available) return;
        if (UnderCi) throw new Xunit.Sdk.XunitException($"CI=true and a required tool is missing: {reason}");
        Skip.If(true, reason);
    }

    /// <summary>tools/<paramref name="area"/> of the repository (where a reference script and its node_modules live).</summary>
    public static string ToolDir(string area) => FindUp(Path.Combine("tools", area))
        ?? throw new DirectoryNotFoundException($"tools/{area} not found above {AppContext.BaseDirectory}");

    /// <summary>True when npm package <paramref name="package"/> is installed under tools/<paramref name="area"/>.</summary>
    public static bool HasNodeModule(string area, string package) =>
        FindUp(Path.Combine("tools", area)) is { } d && File.Exists(Path.Combine(d, "node_modules", package, "package.json"));

    /// <summary>Runs <c>node</c> in tools/<paramref name="area"/> with one argument per element.</summary>
    public static (int Code, string Stdout, string Stderr) RunNode(string area, IEnumerable<string> args, int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo("node") { WorkingDirectory = ToolDir(area) };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Run(psi, string.Join(' ', psi.ArgumentList), timeoutSeconds);
    }

    /// <summary>
    /// test-output/<paramref name="name"/> beside the test binary, created: where a test leaves what a person may want to
    /// look at afterwards (a browser screenshot). Kept after the run; the test prints the paths it wrote.
    /// </summary>
    public static string OutputDir(string name) =>
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "test-output", name)).FullName;

    /// <summary>A fresh temporary folder named <paramref name="prefix"/>-…; the caller deletes it.</summary>
    public static string NewTempDir(string prefix)
    {
        var d = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Runs an external program (mount, umount, sh) and returns its exit code and its stdout followed by
    /// stderr; code -1 with the reason when it cannot start.</summary>
    public static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var o = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, o + err.Result);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}

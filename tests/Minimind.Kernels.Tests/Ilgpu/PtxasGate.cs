using Minimind.Tests;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>NVIDIA's <c>ptxas</c> as a test gate without a GPU: found via $MM_PTXAS or PATH (CUDA 11.8's, from Debian's
/// non-free nvidia-cuda-toolkit; see docs/benchmarks.md); tests that need it skip visibly when it is absent.</summary>
internal static class PtxasGate
{
    public const string Missing = "ptxas not found (set MM_PTXAS or put CUDA 11.8's ptxas on PATH); PTX assembly not checked";

    public static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("MM_PTXAS");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        foreach (var d in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (d.Length == 0) continue;
            var p = Path.Combine(d, "ptxas");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Assembles <paramref name="ptx"/> for <paramref name="sm"/>; null when ptxas accepts it, else its message.</summary>
    public static string? Assemble(string ptxas, string ptx, string sm) => InTemp(ptx, file =>
    {
        string err = Run(ptxas, $"-arch={sm} \"{file}\" -o \"{file}.cubin\"", out string stdout);
        return err.Length == 0 ? null : err + " " + stdout.Trim();
    });

    /// <summary>Asserts that ptxas accepts <paramref name="ptx"/>; skips (with the reason) when ptxas is absent.</summary>
    public static void AssembleOrSkip(string ptx, string sm)
    {
        string? ptxas = Find();
        TestEnvironment.RequireTool(ptxas is not null, Missing);
        string? err = Assemble(ptxas!, ptx, sm);
        Assert.True(err is null, $"ptxas -arch={sm} rejected: {err}");
    }

    /// <summary>The SASS of <paramref name="ptx"/> assembled for <paramref name="sm"/> (ptxas, then cuobjdump -sass from the same
    /// toolkit folder); skips when either tool is absent, fails when ptxas rejects the PTX.</summary>
    public static string SassOrSkip(string ptx, string sm)
    {
        string? ptxas = Find();
        TestEnvironment.RequireTool(ptxas is not null, Missing);
        string cuobjdump = Path.Combine(Path.GetDirectoryName(ptxas!)!, "cuobjdump");
        TestEnvironment.RequireTool(File.Exists(cuobjdump), $"cuobjdump not found next to {ptxas}; SASS not checked");
        return InTemp(ptx, file =>
        {
            Assert.Equal("", Run(ptxas!, $"-arch={sm} \"{file}\" -o \"{file}.cubin\"", out _));
            Assert.Equal("", Run(cuobjdump, $"-sass \"{file}.cubin\"", out string sass));
            return sass;
        });
    }

    private static T InTemp<T>(string ptx, Func<string, T> body)
    {
        var dir = Directory.CreateTempSubdirectory("mm-ptx-");
        try
        {
            string file = Path.Combine(dir.FullName, "k.ptx");
            File.WriteAllText(file, ptx);
            return body(file);
        }
        finally { dir.Delete(recursive: true); }
    }

    // Runs a tool; returns "" on success, else its exit code and stderr; stdout comes out separately.
    private static string Run(string exe, string args, out string stdout)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(exe, args) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var proc = System.Diagnostics.Process.Start(psi)!;
        var err = proc.StandardError.ReadToEndAsync();
        stdout = proc.StandardOutput.ReadToEnd();
        proc.WaitForExit();
        return proc.ExitCode == 0 ? "" : $"exit {proc.ExitCode}: {err.Result.Trim()}";
    }
}

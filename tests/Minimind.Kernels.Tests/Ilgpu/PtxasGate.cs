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
    public static string? Assemble(string ptxas, string ptx, string sm)
    {
        var dir = Directory.CreateTempSubdirectory("mm-ptx-");
        try
        {
            string file = Path.Combine(dir.FullName, $"k_{sm}.ptx");
            File.WriteAllText(file, ptx);
            var psi = new System.Diagnostics.ProcessStartInfo(ptxas, $"-arch={sm} \"{file}\" -o \"{file}.cubin\"")
            { RedirectStandardError = true, RedirectStandardOutput = true };
            using var proc = System.Diagnostics.Process.Start(psi)!;
            string err = proc.StandardError.ReadToEnd() + proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            return proc.ExitCode == 0 ? null : err.Trim();
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>Asserts that ptxas accepts <paramref name="ptx"/>; skips (with the reason) when ptxas is absent.</summary>
    public static void AssembleOrSkip(string ptx, string sm)
    {
        string? ptxas = Find();
        Skip.If(ptxas is null, Missing);
        string? err = Assemble(ptxas!, ptx, sm);
        Assert.True(err is null, $"ptxas -arch={sm} rejected: {err}");
    }
}

using Minimind.Kernels.Cpu;
using Minimind.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The same training run on every CPU kernel path writes the same .pth, byte for byte: the default path (AVX-512 on
/// this project's machines), <c>DOTNET_EnableAVX512F=0</c> (AVX2+FMA kernels), <c>DOTNET_EnableAVX512=0</c> (.NET 10's
/// own switch: the runtime then has no 512-bit vectors at all, TensorPrimitives included) and
/// <c>MINIMIND_CPU_ISA=portable</c>, and on a CPU without AVX-512 <c>MINIMIND_CPU_EMULATE_AVX512=1</c> (the AVX-512 path
/// emulated in software). Each run's device line must name the path it ran, so a switch that was silently
/// ignored cannot pass as "the same bits".
/// </summary>
public class CpuIsaTrainTests
{
    private static string Label(CpuIsa isa) => isa switch { CpuIsa.Avx512 => "AVX-512 kernels", CpuIsa.Avx2 => "AVX2+FMA kernels", _ => "portable Vector128 kernels" };

    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    public void TrainingWritesTheSamePthOnEveryKernelPath(string dtype)
    {
        var avx2OrBelow = CpuIsas.Default < CpuIsa.Avx2 ? CpuIsas.Default : CpuIsa.Avx2;
        var runs = new (string Name, Dictionary<string, string> Env, CpuIsa Expected)[]
        {
            ("default", new(), CpuIsas.Default),
            ("DOTNET_EnableAVX512F=0", new() { ["DOTNET_EnableAVX512F"] = "0" }, avx2OrBelow),
            ("DOTNET_EnableAVX512=0", new() { ["DOTNET_EnableAVX512"] = "0" }, avx2OrBelow),
            ("MINIMIND_CPU_ISA=portable", new() { [CpuIsas.OverrideVariable] = "portable" }, CpuIsa.Portable),
        };
        // Where the CPU lacks AVX-512, its path still runs: emulated in software (the same code and bits, slower).
        if (CpuIsas.IsEmulated(CpuIsa.Avx512))
            runs = runs.Append((CpuIsas.EmulateVariable + "=1", new() { [CpuIsas.EmulateVariable] = "1" }, CpuIsa.Avx512)).ToArray();
        var dir = TestEnvironment.NewTempDir("mm-isa");
        try
        {
            byte[]? first = null;
            foreach (var (name, env, expected) in runs)
            {
                var outDir = Path.Combine(dir, name.Replace('=', '-'));
                // T = 100 crosses the 48-row attention blocks; 3×100 rows take the tiled SGEMM, the K of 64/172 a partial slice.
                var (code, stdout, stderr) = CliProcess.ExecWithEnv(env, null, "train", "--device", "cpu", "--dtype", dtype,
                    "--max-seq-len", "100", "--batch-size", "3", "--max-steps", "4", "--log-interval", "1", "--seed", "7", "--out-dir", outDir);
                Assert.True(code == 0, $"{name}: exit {code}\n{stdout}\n{stderr}");
                string device = (stdout + stderr).Split('\n').First(l => l.StartsWith("device:", StringComparison.Ordinal));
                Assert.Contains(Label(expected), device);
                if (CpuIsas.IsEmulated(expected)) Assert.Contains("emulated in software", device);
                var pth = File.ReadAllBytes(Path.Combine(outDir, "pretrain_64.pth"));
                if (first is null) first = pth;
                else Assert.True(first.AsSpan().SequenceEqual(pth), $"--dtype {dtype}: the .pth written with {name} differs from the default path's ({runs[0].Expected.Name()})");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("MINIMIND_CPU_ISA", "sse", "MINIMIND_CPU_ISA=sse: CPU path 'sse' is not one of: avx512, avx2, portable")]
    [InlineData("MINIMIND_CPU_EMULATE_AVX512", "yes", "MINIMIND_CPU_EMULATE_AVX512=yes: expected 1 (on) or 0 (off)")]
    public void ABadPathVariable_IsOneErrorLineNamingIt(string variable, string value, string message)
    {
        var (code, stdout, stderr) = CliProcess.ExecWithEnv(new Dictionary<string, string> { [variable] = value }, null,
            "kernels", "bench", "--device", "cpu", "--sizes", "small", "--seconds", "0.01", "--op", "MatMul(q");
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal($"minimind kernels: error: {message}", stderr.Trim());
    }
}

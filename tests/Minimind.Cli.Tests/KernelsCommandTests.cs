using Minimind.Kernels;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Cli.Tests;

/// <summary>`minimind kernels ptx|check` through the command: PTX files written, a bad mode is a usage error, and the whole
/// suite (and reduced-precision attention alone) passes on the ILGPU simulator at every dtype.</summary>
[Collection("console")] // Program.Main in-process redirects the process-wide Console
public sealed class KernelsCommandTests
{
    [Fact]
    public void KernelsPtxCommand_WritesPtxFiles()
    {
        var dir = Directory.CreateTempSubdirectory("mm-ptxcmd-");
        var old = Console.Out;
        Console.SetOut(new StringWriter());
        try
        {
            Assert.Equal(0, Minimind.Cli.Program.Main(new[] { "kernels", "ptx", "--out", dir.FullName, "--arch", "sm_80", "--op", "GemmTiled" }));
            var files = Directory.GetFiles(dir.FullName).Select(Path.GetFileName).OrderBy(x => x).ToArray();
            Assert.Equal(new[] { "GemmTiled_GemmTile64.ptx", "GemmTiled_GemmTile8.ptx" }, files);
            Assert.Contains(".entry", File.ReadAllText(Path.Combine(dir.FullName, "GemmTiled_GemmTile64.ptx")));
        }
        finally { Console.SetOut(old); dir.Delete(recursive: true); }
    }

    [Fact]
    public void KernelsCommand_BadMode_IsAUsageError()
    {
        var old = Console.Error;
        Console.SetError(new StringWriter());
        try { Assert.Equal(2, Minimind.Cli.Program.Main(new[] { "kernels", "verify" })); }
        finally { Console.SetError(old); }
    }


    /// <summary>The whole suite on the simulator against the CPU backend at each dtype: ILGPU's matmuls and attention
    /// (flash attention on the mma fallback included) round like the CPU backend, so every output passes at the
    /// default tolerance (1e-4, 2e-5 at fp16).</summary>
    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    [InlineData("fp16")]
    public void KernelsCheck_EveryOpAtEveryDtype_PassesOnTheSimulator(string dtype)
    {
        var old = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        int rc;
        try { rc = Minimind.Cli.Program.Main(new[] { "kernels", "check", "--device", "ilgpu-cpu", "--sizes", "small", "--dtype", dtype }); }
        finally { Console.SetOut(old); }
        string text = sw.ToString();
        Assert.True(rc == 0, text);
        Assert.Contains($"dtype {dtype}", text);
        Assert.Contains($"result (tol {KernelSuite.DefaultTolerance(PrecisionRounding.Parse(dtype)).ToString("G3", System.Globalization.CultureInfo.InvariantCulture)})", text);
        foreach (var row in new[] { "| MatMulBackwardWeight(lm_head) | dw |", "| MatMulBackwardInput(k/v) | dx |", "| AttentionBackward | dk |",
                     "| AttentionDecode | output |", "| KvCacheAppend | vCache |", "| MoeRoute | perm |", "| AdamW | param |" })
            Assert.Contains(row, text);
        Assert.Contains($"kernels check ({dtype}): all outputs PASS", text);
        Assert.DoesNotContain("FAIL", text);
    }

    /// <summary><c>kernels check --dtype</c> on the simulator: attention, its backward, decode and KV append pass at the
    /// default tolerance now that ILGPU rounds them (the suite's own test shows the tolerance fails a skipped rounding).</summary>
    [Theory]
    [InlineData("bf16")]
    [InlineData("fp16")]
    public void KernelsCheck_ReducedPrecisionAttention_PassesOnTheSimulator(string dtype)
    {
        foreach (var op in new[] { "Attention", "KvCacheAppend" })
        {
            var old = Console.Out;
            var sw = new StringWriter();
            Console.SetOut(sw);
            int rc;
            try { rc = Minimind.Cli.Program.Main(new[] { "kernels", "check", "--device", "ilgpu-cpu", "--sizes", "small", "--dtype", dtype, "--op", op }); }
            finally { Console.SetOut(old); }
            string text = sw.ToString();
            Assert.True(rc == 0, text);
            foreach (var row in op == "Attention" ? new[] { "| Attention | lse |", "| AttentionBackward | dk |", "| AttentionDecode | output |" } : new[] { "| KvCacheAppend | vCache |" })
                Assert.Contains(row, text);
            Assert.Contains($"kernels check ({dtype}): all outputs PASS", text);
        }
    }
}

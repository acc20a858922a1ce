using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary><c>kernels check|bench --dtype</c>: the suite rounds exactly the ops whose shapes carry a precision, covers
/// every nn.Linear shape of the model, and the whole suite passes on the simulator at every dtype.</summary>
[Collection(IlgpuCollection.Name)]
public sealed class KernelSuiteDtypeTests
{
    private static Dictionary<(string Op, string Output), float[]> Outputs(IBackend b, Precision p)
    {
        var res = new Dictionary<(string, string), float[]>();
        foreach (var c in KernelSuite.Build(b, KernelSizes.Small, precision: p))
        {
            c.Run();
            foreach (var (name, values) in c.Read()) res[(c.Name, name)] = values;
        }
        return res;
    }

    /// <summary>
    /// On the CPU backend (the reference of the rounding) the bf16/fp16 suite differs from the fp32 one exactly in the
    /// matmul, attention, decode and KV-append outputs, by that format's rounding: each operand element moves by up to
    /// the unit roundoff u (2^-9 bf16, 2^-12 fp16), so an output moves by a few u of its scale at most (bound 3.5u) and,
    /// where an accumulating backward adds into a random buffer that dilutes the change, by no less than u/6 (measured:
    /// 0.3u to 1.8u for both formats, whose ratio is the expected 2^3); every other op's output is bit-identical.
    /// </summary>
    [Theory]
    [InlineData("bf16", 9)]
    [InlineData("fp16", 12)]
    public void ReducedPrecisionSuite_RoundsExactlyTheMatmulAndAttentionOps(string dtype, int roundoffBits)
    {
        double u = Math.Pow(2, -roundoffBits), lo = u / 6, hi = 3.5 * u;
        using var cpu = new CpuBackend(1);
        var p = PrecisionRounding.Parse(dtype);
        var f32 = Outputs(cpu, Precision.Fp32);
        var red = Outputs(cpu, p);
        Assert.Equal(f32.Keys, red.Keys);
        var rounding = KernelSuite.Build(cpu, KernelSizes.Small, precision: p).Where(c => c.Precision == p).Select(c => c.Name).ToHashSet();
        Assert.Contains("MatMulBackwardWeight(lm_head)", rounding);
        Assert.Contains("AttentionBackward", rounding);
        Assert.Contains("AttentionDecode", rounding);
        Assert.Contains("KvCacheAppend", rounding);
        foreach (var (key, a) in red)
        {
            double e = KernelSuite.MaxRelativeError(a, f32[key]);
            if (rounding.Contains(key.Op))
            {
                Assert.True(e >= lo && e <= hi, $"{key} at {dtype}: {e:E2} from fp32, expected [{lo:E0}, {hi:E0}]");
                // ...so `kernels check --dtype` at its default tolerance fails a device that skips this rounding.
                Assert.True(e > KernelSuite.DefaultTolerance(p), $"{key} at {dtype}: {e:E2} from fp32 is within the check's tolerance");
            }
            else
                Assert.True(e == 0, $"{key} at {dtype}: {e:E2} from fp32, but the op is float32 at every dtype");
        }
    }

    [Fact]
    public void Linears_AreTheModelsDistinctProjectionShapes()
    {
        // v1: q and o are both 512x512 (16 heads x 32 = dim), k/v 256x512, FFN 1408, head 6400.
        Assert.Equal(new[] { ("q/o", 512, 512), ("k/v", 256, 512), ("gate/up", 1408, 512), ("down", 512, 1408), ("lm_head", 6400, 512) }, KernelSizes.V1.Linears());
        // minimind3: 8 heads x 96 = dim 768, 4 kv heads -> 384; FFN ceil(768·π/64)·64 = 2432.
        Assert.Equal(new[] { ("q/o", 768, 768), ("k/v", 384, 768), ("gate/up", 2432, 768), ("down", 768, 2432), ("lm_head", 6400, 768) }, KernelSizes.M3.Linears());
    }

    /// <summary>The suite is what the GPU script checks on CUDA, so every compute op of <see cref="IBackend"/> must be in
    /// it (a new op, e.g. a fused one, that is missing would run untested on the GPU). Memory, copy-to-host and
    /// synchronisation members are not ops, nor is KeepWeights (a caching hint that computes nothing).</summary>
    [Fact]
    public void Suite_HasACaseForEveryBackendOp()
    {
        var notOps = new HashSet<string> { "Alloc", "AllocInt", "Upload", "Download", "Synchronize", "Dispose", "KeepWeights" };
        var ops = typeof(IBackend).GetMethods().Where(m => !m.IsSpecialName).Select(m => m.Name).Where(n => !notOps.Contains(n)).Distinct().ToList();
        Assert.Contains("CrossEntropyForwardBackward", ops);
        using var cpu = new CpuBackend(1);
        var names = KernelSuite.Build(cpu, KernelSizes.Small).Select(c => c.Name.Split('(')[0]).ToHashSet();
        var missing = ops.Where(o => !names.Contains(o)).ToList();
        Assert.True(missing.Count == 0, "ops without a kernels check case: " + string.Join(", ", missing));
    }
}

using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary><c>--device</c> selection and the start-up line (the <c>kernels check</c> command end to end: KernelSuiteDtypeTests).</summary>
[Collection(IlgpuCollection.Name)]
public sealed class BackendFactoryTests
{
    [Fact]
    public void Cpu_And_IlgpuCpu_CreateTheirBackends()
    {
        using (var cpu = BackendFactory.Create("cpu", 2))
        {
            Assert.IsType<CpuBackend>(cpu);
            Assert.Equal(2, ((CpuBackend)cpu).Threads);
            Assert.StartsWith("device: cpu (CPU (2 threads", BackendFactory.Describe(cpu));
        }
        using var sim = BackendFactory.Create("ilgpu-cpu");
        var ilgpu = Assert.IsType<IlgpuBackend>(sim);
        Assert.False(ilgpu.IsCuda);
        Assert.Equal("ilgpu-cpu", sim.Name);
        Assert.Equal($"device: ilgpu-cpu ({sim.DeviceName})", BackendFactory.Describe(sim));
    }

    [Fact]
    public void Auto_PicksCudaOnlyWhenIlgpuSeesAGpu()
    {
        bool gpu = IlgpuBackend.CudaAvailable();
        using var b = BackendFactory.Create("auto", 1);
        Assert.Equal(gpu ? "cuda" : "cpu", b.Name);
    }

    [SkippableFact]
    public void Cuda_WithoutGpu_ThrowsNamingTheFlag()
    {
        Skip.If(IlgpuBackend.CudaAvailable(), "a CUDA device is present; the no-GPU error path cannot be exercised");
        var e = Assert.Throws<NotSupportedException>(() => BackendFactory.Create("cuda"));
        Assert.Contains("--device cuda", e.Message);
    }

    [Fact]
    public void UnknownDevice_ThrowsListingChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => BackendFactory.Create("tpu"));
        Assert.Contains("'tpu'", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
    }
}

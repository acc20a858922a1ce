using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels;

/// <summary>Creates the backend a <c>--device</c> value names, and describes it for the start-up line.</summary>
public static class BackendFactory
{
    /// <summary>The accepted <c>--device</c> values.</summary>
    public static readonly string[] Devices = { "auto", "cuda", "cpu", "ilgpu-cpu" };

    /// <summary>
    /// The one place <c>--device</c> is resolved. <c>auto</c>: CUDA when ILGPU finds a CUDA device, else
    /// <paramref name="autoWithoutGpu"/> (the CPU backend; <c>kernels</c> checks the ILGPU kernels on the simulator instead);
    /// <c>cuda</c>: the ILGPU CUDA backend (throws when there is no GPU); <c>cpu</c>: the SIMD CPU backend with
    /// <paramref name="cpuThreads"/> workers (0 = all cores); <c>ilgpu-cpu</c>: the ILGPU kernels on ILGPU's CPU simulator
    /// (slow; for checks only). Under mpirun each rank passes its <paramref name="localRank"/>: rank r of a machine takes its CUDA device r.
    /// </summary>
    public static IBackend Create(string device, int cpuThreads = 0, int localRank = 0, string autoWithoutGpu = "cpu") => device switch
    {
        "auto" => IlgpuBackend.CudaAvailable() ? IlgpuBackend.CreateCuda(localRank) : Create(autoWithoutGpu, cpuThreads),
        "cuda" => IlgpuBackend.CreateCuda(localRank),
        "cpu" => new CpuBackend(cpuThreads),
        "ilgpu-cpu" => IlgpuBackend.CreateCpuSimulator(),
        _ => throw new ArgumentException($"--device '{device}' is not one of: {string.Join(", ", Devices)}"),
    };

    /// <summary>The start-up line, e.g. "device: cuda (NVIDIA H200, 132 SMs)".</summary>
    public static string Describe(IBackend backend) => $"device: {backend.Name} ({backend.DeviceName})";
}

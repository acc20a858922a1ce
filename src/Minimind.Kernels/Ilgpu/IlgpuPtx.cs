using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Minimind.Kernels.Ilgpu;

/// <summary>Compiles kernels to PTX without a GPU (the CI gate and <c>minimind kernels ptx</c>).</summary>
public static class IlgpuPtx
{
    /// <summary>PTX text of one kernel for <paramref name="arch"/> with PTX ISA 7.8 (the newest CUDA 11.8's ptxas
    /// accepts). A fresh Context per call: one failed compile poisons a context for every later compile.</summary>
    public static string Compile(IlgpuKernels.Entry entry, CudaArchitecture arch)
    {
        using var ctx = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var be = new PTXBackend(ctx, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_78, nvvmAPI: null);
        var compiled = (PTXCompiledKernel)be.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(entry.Method), new KernelSpecialization());
        return compiled.PTXAssembly;
    }

    /// <summary>"sm_80" or "sm_90" to the ILGPU architecture.</summary>
    public static CudaArchitecture ParseArch(string sm) => sm switch
    {
        "sm_80" => CudaArchitecture.SM_80,
        "sm_86" => CudaArchitecture.SM_86,
        "sm_89" => CudaArchitecture.SM_89,
        "sm_90" => CudaArchitecture.SM_90,
        _ => throw new ArgumentException($"--arch '{sm}' is not one of: sm_80, sm_86, sm_89, sm_90"),
    };

    /// <summary>A file-name-safe version of a kernel entry name ("GemmTiled&lt;GemmTile64&gt;" → "GemmTiled_GemmTile64").</summary>
    public static string FileName(IlgpuKernels.Entry entry) => entry.Name.Replace('<', '_').Replace(">", "");
}

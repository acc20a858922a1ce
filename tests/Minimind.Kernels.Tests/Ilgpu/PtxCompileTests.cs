using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>
/// The CUDA gate without a GPU: every kernel in <see cref="IlgpuKernels.All"/> must compile with ILGPU's PTX
/// backend for SM_80 and SM_90 (ISA 7.8, the newest PTX that CUDA 11.8's ptxas accepts). A fresh Context per
/// kernel, because one failed compile poisons a context.
/// </summary>
public sealed class PtxCompileTests
{
    public static IEnumerable<object[]> Kernels() => IlgpuKernels.All.Select(e => new object[] { e.Name });

    [Fact]
    public void EveryKernelIsListedOnce()
    {
        var names = IlgpuKernels.All.Select(e => e.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        // Each listed method is a static, closed (non-generic-definition) method of IlgpuKernels.
        foreach (var e in IlgpuKernels.All)
        {
            Assert.True(e.Method.IsStatic, e.Name);
            Assert.False(e.Method.ContainsGenericParameters, e.Name);
            Assert.Equal(typeof(IlgpuKernels), e.Method.DeclaringType);
        }
        // Every public void kernel-shaped method of IlgpuKernels appears in All (a new kernel cannot skip the gate).
        var declared = typeof(IlgpuKernels).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly)
            .Where(m => m.ReturnType == typeof(void)).Select(m => m.Name).Distinct();
        var listed = IlgpuKernels.All.Select(e => e.Method.Name).ToHashSet();
        foreach (var d in declared) Assert.Contains(d, listed);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void CompilesToPtx(string name)
    {
        var entry = IlgpuKernels.All.Single(e => e.Name == name);
        foreach (var arch in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            var ptx = Compile(entry, arch);
            Assert.Contains(".entry", ptx);
            Assert.Contains(".target", ptx);
        }
    }

    /// <summary>Compiles one kernel to PTX text (fresh context each time).</summary>
    public static string Compile(IlgpuKernels.Entry entry, CudaArchitecture arch)
    {
        using var ctx = Context.Create(b => b.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var be = new PTXBackend(ctx, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_78, nvvmAPI: null);
        var compiled = (PTXCompiledKernel)be.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(entry.Method), new KernelSpecialization());
        return compiled.PTXAssembly;
    }
}

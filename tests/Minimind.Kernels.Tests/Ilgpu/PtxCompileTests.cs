using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Minimind.Kernels.Ilgpu;

using Minimind.Tests;
namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>
/// The CUDA gate without a GPU: every kernel in <see cref="IlgpuKernels.All"/> (read from the <see cref="KernelAttribute"/> marks) must compile with ILGPU's PTX
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

    [Fact]
    public void TheGateListIsReadFromTheKernelMarks()
    {
        // Every [Kernel] method is in All; a generic one once per listed tile, by its closed method.
        const System.Reflection.BindingFlags flags = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic
            | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly;
        var methods = typeof(IlgpuKernels).GetMethods(flags);
        int expected = 0;
        foreach (var m in methods)
        {
            var mark = m.GetCustomAttributes(typeof(KernelAttribute), false).Cast<KernelAttribute>().SingleOrDefault();
            if (mark is null)
            {
                Assert.False(m.IsPublic && m.ReturnType == typeof(void), $"public void method {m.Name} of IlgpuKernels has no [Kernel] mark");
                Assert.False(IlgpuKernels.IsListed(m), m.Name);
                continue;
            }
            if (!m.IsGenericMethodDefinition) { expected++; Assert.True(IlgpuKernels.IsListed(m), m.Name); continue; }
            Assert.False(IlgpuKernels.IsListed(m), $"{m.Name}: the open generic definition cannot be compiled");
            foreach (var t in mark.Tiles)
            {
                expected++;
                Assert.True(IlgpuKernels.IsListed(m.MakeGenericMethod(t)), $"{m.Name}<{t.Name}>");
                Assert.Contains($"{m.Name}<{t.Name}>", IlgpuKernels.All.Select(e => e.Name));
            }
        }
        Assert.Equal(expected, IlgpuKernels.All.Count);
        // The tiles the backend launches with are among them.
        foreach (var name in new[] { "GemmTiled<GemmTile64>", "GemmTiled<GemmTile8>", "AttentionForward<AttnTile32>", "AttentionForward<AttnTile4>",
                     "AttentionBackwardQuery<AttnTile32>", "AttentionBackwardKeyValue<AttnTile4>", "GemmSimple", "Fill", "AdamW" })
            Assert.Contains(name, IlgpuKernels.All.Select(e => e.Name));
    }

    [Fact]
    public void EveryKernelTheBackendLaunches_IsInTheGate()
    {
        // The backend launches only marked kernels (it throws otherwise), so running every op of the suite on the
        // simulator proves the gate covers every launched kernel.
        using var b = IlgpuBackend.CreateCpuSimulator(tiledMatMul: true);
        foreach (var c in KernelSuite.Build(b, KernelSizes.Small)) { c.Run(); c.Read(); }
        using var plain = IlgpuBackend.CreateCpuSimulator();
        var x = plain.Alloc(4);
        plain.MatMul(x, plain.Alloc(4), plain.Alloc(4), new(2, 2, 2));
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

    /// <summary>
    /// Optional second gate: assembles every kernel's PTX with NVIDIA's <c>ptxas</c> for sm_80 and sm_90 (catches PTX
    /// that ILGPU emits but the CUDA toolchain rejects). ptxas runs without a GPU; it comes from Debian's non-free
    /// nvidia-cuda-toolkit (see docs/benchmarks.md). Found via $MM_PTXAS or PATH; skipped visibly when absent.
    /// </summary>
    [SkippableFact]
    public void EveryKernelAssemblesWithPtxas()
    {
        string? ptxas = PtxasGate.Find();
        TestEnvironment.RequireTool(ptxas is not null, PtxasGate.Missing);
        var failures = new List<string>();
        foreach (var entry in IlgpuKernels.All)
            foreach (var (arch, sm) in new[] { (CudaArchitecture.SM_80, "sm_80"), (CudaArchitecture.SM_90, "sm_90") })
                if (PtxasGate.Assemble(ptxas!, Compile(entry, arch), sm) is string err) failures.Add($"{entry.Name} {sm}: {err}");
        Assert.True(failures.Count == 0, "ptxas rejected:\n" + string.Join("\n", failures));
    }

    /// <summary>Compiles one kernel to PTX text (fresh context each time).</summary>
    public static string Compile(IlgpuKernels.Entry entry, CudaArchitecture arch) => IlgpuPtx.Compile(entry, arch);
}

namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// Marks a method of <see cref="IlgpuKernels"/> as a kernel entry point — the one declaration a kernel needs:
/// <see cref="IlgpuKernels.All"/> (the PTX gate's list) is read from these marks, and
/// <see cref="IlgpuOps"/> refuses to launch a method without one. A generic kernel lists the tile types
/// it is instantiated with; each instantiation is compiled and may be launched.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class KernelAttribute : Attribute
{
    /// <summary>Marks a kernel; <paramref name="tiles"/> close a generic kernel's type parameter.</summary>
    public KernelAttribute(params Type[] tiles) => Tiles = tiles;

    /// <summary>The type arguments a generic kernel is compiled with (empty for a non-generic kernel).</summary>
    public IReadOnlyList<Type> Tiles { get; }
}

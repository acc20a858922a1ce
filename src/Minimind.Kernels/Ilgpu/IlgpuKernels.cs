using ILGPU;

namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// The ILGPU kernels of <see cref="IlgpuOps"/>. Every kernel is explicitly grouped and walks its work
/// with a grid-stride loop, so the launch shape (chosen per accelerator) never changes which thread computes
/// an element's value in a way that depends on timing: each output is reduced in a fixed order.
/// </summary>
public static partial class IlgpuKernels
{
    /// <summary>Largest group size a row kernel may be launched with (size of its shared reduction buffer).</summary>
    public const int MaxRowGroup = 256;

    // First element of this thread and the grid-stride step.
    private static int Gid => Grid.IdxX * Group.DimX + Group.IdxX;
    private static int GStride => Grid.DimX * Group.DimX;

    /// <summary>Σ of every thread's value, by a fixed tree over a power-of-two group (same bits every run).</summary>
    private static float GroupSum(ArrayView<float> sh, float v)
    {
        int tid = Group.IdxX;
        sh[tid] = v;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s) sh[tid] += sh[tid + s];
            Group.Barrier();
        }
        float r = sh[0];
        Group.Barrier();
        return r;
    }

    /// <summary>Max of every thread's value over a power-of-two group.</summary>
    private static float GroupMax(ArrayView<float> sh, float v)
    {
        int tid = Group.IdxX;
        sh[tid] = v;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s) { float o = sh[tid + s]; if (o > sh[tid]) sh[tid] = o; }
            Group.Barrier();
        }
        float r = sh[0];
        Group.Barrier();
        return r;
    }

    private static float Max(float a, float b) => a > b ? a : b;
    private static int Min(int a, int b) => a < b ? a : b;

    /// <summary>One kernel entry point: its name and the closed (non-generic) method ILGPU compiles.</summary>
    public readonly record struct Entry(string Name, System.Reflection.MethodInfo Method);

    /// <summary>Every method marked <see cref="KernelAttribute"/>, generic ones closed with each listed tile type, by name
    /// (the PTX gate compiles all of them; the backend launches only these).</summary>
    public static IReadOnlyList<Entry> All { get; } = BuildAll();

    private static readonly HashSet<System.Reflection.MethodInfo> Listed = All.Select(e => e.Method).ToHashSet();

    /// <summary>True when <paramref name="method"/> (closed, for a generic kernel) is in <see cref="All"/>.</summary>
    public static bool IsListed(System.Reflection.MethodInfo method) => Listed.Contains(method);

    // The one reflection pass: read the [Kernel] marks of this class.
    private static IReadOnlyList<Entry> BuildAll()
    {
        var list = new List<Entry>();
        const System.Reflection.BindingFlags flags = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static
            | System.Reflection.BindingFlags.DeclaredOnly;
        foreach (var m in typeof(IlgpuKernels).GetMethods(flags))
        {
            if (m.GetCustomAttributes(typeof(KernelAttribute), false).FirstOrDefault() is not KernelAttribute mark) continue;
            if (!m.IsGenericMethodDefinition)
            {
                if (mark.Tiles.Count != 0) throw new InvalidOperationException($"kernel {m.Name} is not generic but [Kernel] lists tile types");
                list.Add(new Entry(m.Name, m));
                continue;
            }
            if (mark.Tiles.Count == 0) throw new InvalidOperationException($"generic kernel {m.Name} lists no tile types in [Kernel(...)]");
            foreach (var t in mark.Tiles) list.Add(new Entry($"{m.Name}<{t.Name}>", m.MakeGenericMethod(t)));
        }
        list.Sort((x, y) => string.CompareOrdinal(x.Name, y.Name));
        return list;
    }
}

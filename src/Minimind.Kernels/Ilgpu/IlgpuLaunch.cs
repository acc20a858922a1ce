using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

/// <summary>Launch shapes for one accelerator: how many threads per group and how many groups a grid-stride
/// kernel gets. On CUDA enough groups to fill every SM several times; on the CPU simulator (every thread is an
/// OS thread and every barrier costs microseconds) a handful of tiny groups.</summary>
public sealed class IlgpuLaunch
{
    /// <summary>Threads per group of the elementwise and row kernels (a power of two).</summary>
    public int Group { get; }
    /// <summary>Upper bound on groups per launch.</summary>
    public int MaxGroups { get; }
    /// <summary>Row chunks of the two-pass deterministic column reductions (RMSNorm dWeight).</summary>
    public int ReduceChunks { get; }
    /// <summary>Strided float64 partial sums of SumOfSquares.</summary>
    public int SumParts { get; }

    /// <summary>Picks the shapes for <paramref name="acc"/>; <paramref name="cudaShapes"/> uses CUDA's group sizes
    /// and chunk counts (with a small grid when <paramref name="acc"/> is the simulator).</summary>
    public IlgpuLaunch(Accelerator acc, bool cudaShapes)
    {
        if (cudaShapes)
        {
            bool cuda = acc.AcceleratorType == AcceleratorType.Cuda;
            Group = 256;
            MaxGroups = cuda ? acc.NumMultiprocessors * 8 : 2;
            ReduceChunks = 64;
            SumParts = cuda ? acc.NumMultiprocessors * 256 : 64;
        }
        else
        {
            int g = 1;
            while (g * 2 <= Math.Min(acc.MaxNumThreadsPerGroup, IlgpuKernels.MaxRowGroup)) g *= 2;
            Group = g;
            MaxGroups = 2;
            ReduceChunks = 3;
            SumParts = 4;
        }
    }

    /// <summary>Config for <paramref name="n"/> independent work items.</summary>
    public KernelConfig Items(long n) =>
        new((int)Math.Clamp((n + Group - 1) / Group, 1, MaxGroups), Group);

    /// <summary>Config with one group per row (grid-stride over rows).</summary>
    public KernelConfig Rows(int rows) => new(Math.Clamp(rows, 1, MaxGroups * 4), Group);
}

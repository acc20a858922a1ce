using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Minimind.Kernels.Ilgpu;

/// <summary>
/// The ILGPU backend (<c>--device cuda</c>, <c>--device ilgpu-cpu</c>): kernels written in C# and compiled by ILGPU to
/// PTX (CUDA) or run on ILGPU's CPU accelerator (a simulator, for tests), queued on the accelerator's default stream,
/// every reduction in a fixed order (no float atomics). The kernels sit behind <see cref="CheckedBackend"/>, so every
/// op's arguments are checked, and ops without work skipped, before anything is launched.
/// </summary>
public sealed class IlgpuBackend : CheckedBackend, ILaunchCounter
{
    private IlgpuBackend(IlgpuOps ops) : base(ops) { }

    private IlgpuOps Ops => (IlgpuOps)Inner;

    /// <inheritdoc cref="IlgpuOps.CreateCuda"/>
    public static IlgpuBackend CreateCuda(int deviceIndex = 0) => new(IlgpuOps.CreateCuda(deviceIndex));

    /// <inheritdoc cref="IlgpuOps.CreateCpuSimulator"/>
    public static IlgpuBackend CreateCpuSimulator(int warp = 2, int warps = 2, bool tiledMatMul = false, bool cudaShapes = false, bool mmaMatMul = false,
        bool mmaAttention = false) => new(IlgpuOps.CreateCpuSimulator(warp, warps, tiledMatMul, cudaShapes, mmaMatMul, mmaAttention));

    /// <summary>True when ILGPU can see at least one CUDA device (false, not an exception, when the driver is absent).</summary>
    public static bool CudaAvailable()
    {
        try
        {
            using var ctx = Context.Create(b => b.Cuda());
            return ctx.GetCudaDevices().Count > 0;
        }
        catch (Exception)
        {
            // Any failure to bring up the CUDA runtime (no driver, broken install) means "no GPU" for auto-selection.
            return false;
        }
    }

    /// <summary>The underlying accelerator.</summary>
    public Accelerator Accelerator => Ops.Accelerator;

    /// <summary>True on a CUDA device.</summary>
    public bool IsCuda => Ops.IsCuda;

    /// <inheritdoc cref="IlgpuOps.TensorCoreMatMul"/>
    public bool TensorCoreMatMul => Ops.TensorCoreMatMul;

    /// <inheritdoc cref="IlgpuOps.CudaShapes"/>
    public bool CudaShapes => Ops.CudaShapes;

    /// <inheritdoc cref="IlgpuOps.TensorCoreAttention"/>
    public bool TensorCoreAttention => Ops.TensorCoreAttention;

    /// <inheritdoc/>
    /// <remarks>Counted where the kernels are launched (an op launches one to three kernels); ops the decorator skips
    /// for want of work launch none.</remarks>
    public long KernelLaunches => Ops.KernelLaunches;
}

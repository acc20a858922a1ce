using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <summary>Runs one strided GEMM with the path chosen for this accelerator: the tiled kernel (64×64 tiles on
    /// CUDA, 8×8 on the simulator when asked for) or one thread per output element.</summary>
    private void Gemm(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s)
    {
        if (s.M == 0 || s.N == 0) return;
        if (CudaShapes)
        {
            int tiles = ((s.M + 63) / 64) * ((s.N + 63) / 64);
            Launch(IlgpuKernels.GemmTiled<GemmTile64>, new KernelConfig(Math.Min(tiles, IsCuda ? _acc.NumMultiprocessors * 16 : _launch.MaxGroups), 256), c, a, b, s);
        }
        else if (_tiled)
        {
            int tiles = ((s.M + 7) / 8) * ((s.N + 7) / 8);
            Launch(IlgpuKernels.GemmTiled<GemmTile8>, new KernelConfig(Math.Min(tiles, _launch.MaxGroups), 4), c, a, b, s);
        }
        else Launch(IlgpuKernels.GemmSimple, _launch.Items((long)s.M * s.N), c, a, b, s);
    }

    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite)
    {
        OpContract.MatMul(y, x, w, s, mode, Limits);
        Gemm(V(y, (long)s.M * s.N), V(x, (long)s.M * s.K), V(w, (long)s.N * s.K), GemmArgs.Forward(s, mode));
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode)
    {
        OpContract.MatMulBackwardInput(dx, dy, w, s, mode, Limits);
        Gemm(V(dx, (long)s.M * s.K), V(dy, (long)s.M * s.N), V(w, (long)s.N * s.K), GemmArgs.BackwardInput(s, mode));
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode)
    {
        OpContract.MatMulBackwardWeight(dw, dy, x, s, mode, Limits);
        Gemm(V(dw, (long)s.N * s.K), V(dy, (long)s.M * s.N), V(x, (long)s.M * s.K), GemmArgs.BackwardWeight(s, mode));
    }
}

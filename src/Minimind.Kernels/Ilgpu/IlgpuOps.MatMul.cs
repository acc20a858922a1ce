using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

internal sealed partial class IlgpuOps
{
    /// <summary>Runs one strided GEMM with the path chosen for this accelerator: bf16/fp16 on tensor cores where
    /// <see cref="TensorCoreMatMul"/> (<c>GemmMmaBf16</c>/<c>GemmMmaFp16</c>: 64×64 blocks of 8 warps with CUDA's shapes, 32×32 blocks of 2 warps on a simulator
    /// asking for it), else the tiled kernel (64×64 tiles on CUDA, 8×8 on the simulator when asked for) or one thread per
    /// output element; the SIMT paths round bf16/fp16 operands as they load them.</summary>
    private void Gemm(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmArgs s)
    {
        if (s.Precision != 0 && TensorCoreMatMul)
        {
            bool bf16 = s.Precision == (int)Precision.Bf16;
            if (CudaShapes) Launch(bf16 ? IlgpuKernels.GemmMmaBf16<GemmMmaTile64> : IlgpuKernels.GemmMmaFp16<GemmMmaTile64>, Blocks(s, 64, 64, 256), c, a, b, s);
            else Launch(bf16 ? IlgpuKernels.GemmMmaBf16<GemmMmaTile32> : IlgpuKernels.GemmMmaFp16<GemmMmaTile32>, Blocks(s, 32, 32, 64), c, a, b, s);
        }
        else if (CudaShapes) Launch(IlgpuKernels.GemmTiled<GemmTile64>, Blocks(s, 64, 64, 256), c, a, b, s);
        else if (_tiled) Launch(IlgpuKernels.GemmTiled<GemmTile8>, Blocks(s, 8, 8, 4), c, a, b, s);
        else Launch(IlgpuKernels.GemmSimple, _launch.Items((long)s.M * s.N), c, a, b, s);
    }

    // One group per bm×bn block of C, at most 16 per SM on CUDA (the kernels stride over the rest).
    private KernelConfig Blocks(GemmArgs s, int bm, int bn, int threads)
    {
        int tiles = ((s.M + bm - 1) / bm) * ((s.N + bn - 1) / bn);
        return new KernelConfig(Math.Min(tiles, IsCuda ? _acc.NumMultiprocessors * 16 : _launch.MaxGroups), threads);
    }

    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite)
    {
        Gemm(V(y, (long)s.M * s.N), V(x, (long)s.M * s.K), V(w, (long)s.N * s.K), GemmArgs.Forward(s, mode));
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode)
    {
        Gemm(V(dx, (long)s.M * s.K), V(dy, (long)s.M * s.N), V(w, (long)s.N * s.K), GemmArgs.BackwardInput(s, mode));
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode)
    {
        Gemm(V(dw, (long)s.N * s.K), V(dy, (long)s.M * s.N), V(x, (long)s.M * s.K), GemmArgs.BackwardWeight(s, mode));
    }
}

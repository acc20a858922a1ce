using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _gemm;

    /// <summary>Runs one strided GEMM with the path chosen for this accelerator: the tiled kernel (64×64 tiles on
    /// CUDA, 8×8 on the simulator when asked for) or one thread per output element.</summary>
    private void Gemm(ArrayView<float> c, ArrayView<float> a, ArrayView<float> b, GemmShape s)
    {
        if (s.M == 0 || s.N == 0) return;
        if (CudaShapes)
        {
            _gemm ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(IlgpuKernels.GemmTiled<GemmTile64>);
            int tiles = ((s.M + 63) / 64) * ((s.N + 63) / 64);
            _gemm(new KernelConfig(Math.Min(tiles, IsCuda ? _acc.NumMultiprocessors * 16 : _launch.MaxGroups), 256), c, a, b, s);
        }
        else if (_tiled)
        {
            _gemm ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(IlgpuKernels.GemmTiled<GemmTile8>);
            int tiles = ((s.M + 7) / 8) * ((s.N + 7) / 8);
            _gemm(new KernelConfig(Math.Min(tiles, _launch.MaxGroups), 4), c, a, b, s);
        }
        else
        {
            _gemm ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(IlgpuKernels.GemmSimple);
            _gemm(_launch.Items((long)s.M * s.N), c, a, b, s);
        }
    }

    private static void CheckDims(string op, int m, int n, int k)
    {
        OpChecks.NonNegative(m, op, nameof(m)); OpChecks.NonNegative(n, op, nameof(n)); OpChecks.NonNegative(k, op, nameof(k));
    }

    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, int m, int n, int k, bool accumulate = false)
    {
        const string op = nameof(MatMul);
        CheckDims(op, m, n, k);
        var yv = V(y, (long)m * n, op, nameof(y));
        var xv = V(x, (long)m * k, op, nameof(x));
        var wv = V(w, (long)n * k, op, nameof(w));
        Gemm(yv, xv, wv, GemmShape.Forward(m, n, k, accumulate));
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, int m, int n, int k)
    {
        const string op = nameof(MatMulBackwardInput);
        CheckDims(op, m, n, k);
        Gemm(V(dx, (long)m * k, op, nameof(dx)), V(dy, (long)m * n, op, nameof(dy)), V(w, (long)n * k, op, nameof(w)),
            GemmShape.BackwardInput(m, n, k));
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, int m, int n, int k)
    {
        const string op = nameof(MatMulBackwardWeight);
        CheckDims(op, m, n, k);
        Gemm(V(dw, (long)n * k, op, nameof(dw)), V(dy, (long)m * n, op, nameof(dy)), V(x, (long)m * k, op, nameof(x)),
            GemmShape.BackwardWeight(m, n, k));
    }
}

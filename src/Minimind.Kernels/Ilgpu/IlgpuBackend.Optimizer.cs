using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<double>, ArrayView<float>, int>? _sumSq;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars>? _adamw;

    /// <inheritdoc/>
    /// <remarks>A fixed number of strided float64 partial sums on the device, added in order on the host.</remarks>
    public double SumOfSquares(Tensor g)
    {
        long n = g.Length;
        if (n == 0) return 0;
        int parts = (int)Math.Min(_launch.SumParts, n);
        var partial = Scratch(ref _scratchD, parts);
        _sumSq ??= _acc.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int>(IlgpuKernels.SumOfSquaresPartials);
        _sumSq(_launch.Items(parts), partial, V(g, n, nameof(SumOfSquares), nameof(g)), parts);
        var host = new double[parts];
        _acc.Synchronize();
        partial.SubView(0, parts).CopyToCPU(host.AsSpan());
        double total = 0;
        for (int i = 0; i < parts; i++) total += host[i];
        return total;
    }

    /// <inheritdoc/>
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay,
        long step, float gradScale)
    {
        const string op = nameof(AdamW);
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"{op}: step is 1-based, got {step}");
        long n = param.Length;
        if (n == 0) return;
        _adamw ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamScalars>(IlgpuKernels.AdamW);
        _adamw(_launch.Items(n), V(param, n, op, nameof(param)), V(grad, n, op, nameof(grad)), V(m, n, op, nameof(m)), V(v, n, op, nameof(v)),
            new AdamScalars(lr, beta1, beta2, eps, weightDecay, step, gradScale));
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

internal sealed partial class IlgpuOps
{
    /// <inheritdoc/>
    /// <remarks>A fixed number of strided float64 partial sums on the device, added in order on the host.</remarks>
    public double SumOfSquares(Tensor g)
    {
        long n = g.Length;
        int parts = (int)Math.Min(_launch.SumParts, n);
        var partial = Scratch(ref _scratchD, parts);
        Launch(IlgpuKernels.SumOfSquaresPartials, _launch.Items(parts), partial, V(g, n), parts);
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
        long n = param.Length;
        Launch(IlgpuKernels.AdamW, _launch.Items(n), V(param, n), V(grad, n), V(m, n), V(v, n),
            new AdamScalars(lr, beta1, beta2, eps, weightDecay, step, gradScale));
    }
}

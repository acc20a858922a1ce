namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    // Fixed chunk size for SumOfSquares: partial sums never depend on the thread count.
    private const int SumChunk = 1 << 16;

    /// <inheritdoc/>
    public double SumOfSquares(Tensor g)
    {
        var (ga, go) = In(g);
        long n = g.Length;
        int chunks = (int)((n + SumChunk - 1) / SumChunk);
        var partial = new double[chunks];
        _work.For(chunks, 1, (c0, c1) =>
        {
            for (long c = c0; c < c1; c++)
            {
                long s = c * SumChunk, e = Math.Min(n, s + SumChunk);
                double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                long i = s;
                for (; i + 4 <= e; i += 4)
                {
                    double x0 = ga[go + i], x1 = ga[go + i + 1], x2 = ga[go + i + 2], x3 = ga[go + i + 3];
                    a0 += x0 * x0; a1 += x1 * x1; a2 += x2 * x2; a3 += x3 * x3;
                }
                for (; i < e; i++) { double x = ga[go + i]; a0 += x * x; }
                partial[c] = (a0 + a1) + (a2 + a3);
            }
        });
        double total = 0;
        for (int c = 0; c < chunks; c++) total += partial[c];
        return total;
    }

    /// <inheritdoc/>
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay,
        long step, float gradScale)
    {
        long n = param.Length;
        var s = new AdamScalars(lr, beta1, beta2, eps, weightDecay, step, gradScale);
        var (pa, po) = Arr(param); var (ga, go) = In(grad); var (ma, mo) = Arr(m); var (va, vo) = Arr(v);
        _work.For(n, 1 << 15, (from, to) =>
        {
            for (long i = from; i < to; i++)
            {
                float g = ga[go + i] * s.GradScale;
                float p = pa[po + i] * s.Decay;
                float mi = ma[mo + i] * s.B1 + s.C1 * g;
                float vi = va[vo + i] * s.B2 + s.C2 * g * g;
                ma[mo + i] = mi; va[vo + i] = vi;
                float denom = MathF.Sqrt(vi) / s.Bc2Sqrt + s.Eps;
                pa[po + i] = p + s.NegStep * mi / denom;
            }
        });
    }
}

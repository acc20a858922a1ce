namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Fixed chunk size for SumOfSquares: partial sums never depend on the thread count.
    private const int SumChunk = 1 << 16;

    /// <inheritdoc/>
    public double SumOfSquares(Tensor g)
    {
        var (ga, go) = Arr(g);
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
        const string op = nameof(AdamW);
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"{op}: step is 1-based, got {step}");
        long n = param.Length;
        Need(grad, n, op, nameof(grad)); Need(m, n, op, nameof(m)); Need(v, n, op, nameof(v));
        // Python-scalar math in float64, each scalar then cast to float32 as torch does for float tensors.
        double bc1 = 1.0 - Math.Pow(beta1, step);
        double bc2 = 1.0 - Math.Pow(beta2, step);
        float decay = (float)(1.0 - (double)lr * weightDecay);
        float b1 = beta1, b2 = beta2;
        float c1 = (float)(1.0 - beta1), c2 = (float)(1.0 - beta2);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float negStep = (float)(-(lr / bc1));
        var (pa, po) = Arr(param); var (ga, go) = Arr(grad); var (ma, mo) = Arr(m); var (va, vo) = Arr(v);
        _work.For(n, 1 << 15, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                float g = ga[go + i] * gradScale;
                float p = pa[po + i] * decay;
                float mi = ma[mo + i] * b1 + c1 * g;
                float vi = va[vo + i] * b2 + c2 * g * g;
                ma[mo + i] = mi; va[vo + i] = vi;
                float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
                pa[po + i] = p + negStep * mi / denom;
            }
        });
    }
}

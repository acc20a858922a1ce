using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    // Fixed chunk size for SumOfSquares: partial sums never depend on the thread count.
    internal const int SumChunk = 1 << 16;

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
                partial[c] = SquareSum4(ga, (int)(go + s), (int)(e - s));
            }
        });
        double total = 0;
        for (int c = 0; c < chunks; c++) total += partial[c];
        return total;
    }

    // Σ x² of a[o..o+n) in float64: element i goes to accumulator i mod 4, the four added as (a0 + a1) + (a2 + a3).
    // Products of floats are exact in float64, so the 4-lane vector loop is the scalar loop's arithmetic, in its order.
    private static unsafe double SquareSum4(float[] a, int o, int n)
    {
        fixed (float* x = &a[o])
        {
            double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var acc = Vector256<double>.Zero;
                for (; i + 8 <= n; i += 8)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Load(x + i));
                    acc += lo * lo;
                    acc += hi * hi;
                }
                a0 = acc[0]; a1 = acc[1]; a2 = acc[2]; a3 = acc[3];
            }
            for (; i + 4 <= n; i += 4)
            {
                double x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
                a0 += x0 * x0; a1 += x1 * x1; a2 += x2 * x2; a3 += x3 * x3;
            }
            for (; i < n; i++) { double v = x[i]; a0 += v * v; }
            return (a0 + a1) + (a2 + a3);
        }
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
            int len = (int)(to - from);
            ElementwiseKernels.AdamW(Isa, pa.AsSpan(po + (int)from, len), ga.AsSpan(go + (int)from, len), ma.AsSpan(mo + (int)from, len),
                va.AsSpan(vo + (int)from, len), s);
        });
    }
}

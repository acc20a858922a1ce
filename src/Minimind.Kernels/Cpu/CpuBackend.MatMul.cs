namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // MatMul with at most this many rows takes the dot-product (GEMV) path instead of the packed SGEMM.
    private const int GemvRows = 4;

    private static void CheckDims(string op, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"{op}: m, n, k must be >= 0, got {m}, {n}, {k}");
    }

    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, int m, int n, int k, bool accumulate = false)
    {
        CheckDims(nameof(MatMul), m, n, k);
        Need(y, (long)m * n, nameof(MatMul), nameof(y)); Need(x, (long)m * k, nameof(MatMul), nameof(x)); Need(w, (long)n * k, nameof(MatMul), nameof(w));
        var (ya, yo) = Arr(y); var (xa, xo) = Arr(x); var (wa, wo) = Arr(w);
        if (m <= GemvRows)
        {
            // Decode-sized: one dot product per output streams w once; packing w would cost as much as the math.
            _work.For(n, 64, (s, e) =>
            {
                for (int i = 0; i < m; i++)
                {
                    var xr = xa.AsSpan(xo + i * k, k);
                    for (long j = s; j < e; j++)
                    {
                        float d = System.Numerics.Tensors.TensorPrimitives.Dot(xr, wa.AsSpan(wo + (int)j * k, k));
                        int at = yo + i * n + (int)j;
                        ya[at] = accumulate ? ya[at] + d : d;
                    }
                }
            });
            return;
        }
        // A = x (row stride k), B(p, j) = w[j, p].
        Sgemm.Run(_work, m, n, k, xa, xo, k, 1, wa, wo, 1, k, ya, yo, n, accumulate);
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, int m, int n, int k)
    {
        CheckDims(nameof(MatMulBackwardInput), m, n, k);
        Need(dx, (long)m * k, nameof(MatMulBackwardInput), nameof(dx)); Need(dy, (long)m * n, nameof(MatMulBackwardInput), nameof(dy));
        Need(w, (long)n * k, nameof(MatMulBackwardInput), nameof(w));
        var (da, dof) = Arr(dx); var (ga, go) = Arr(dy); var (wa, wo) = Arr(w);
        // C = dx [m, k], A = dy [m, n], B = w [n, k].
        Sgemm.Run(_work, m, k, n, ga, go, n, 1, wa, wo, k, 1, da, dof, k, accumulate: true);
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, int m, int n, int k)
    {
        CheckDims(nameof(MatMulBackwardWeight), m, n, k);
        Need(dw, (long)n * k, nameof(MatMulBackwardWeight), nameof(dw)); Need(dy, (long)m * n, nameof(MatMulBackwardWeight), nameof(dy));
        Need(x, (long)m * k, nameof(MatMulBackwardWeight), nameof(x));
        var (da, dof) = Arr(dw); var (ga, go) = Arr(dy); var (xa, xo) = Arr(x);
        // C = dw [n, k], A(i, p) = dy[p, i], B = x [m, k].
        Sgemm.Run(_work, n, k, m, ga, go, 1, n, xa, xo, k, 1, da, dof, k, accumulate: true);
    }
}

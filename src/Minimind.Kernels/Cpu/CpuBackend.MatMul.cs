namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite)
    {
        OpContract.MatMul(y, x, w, s, mode, Limits);
        int m = s.M, n = s.N, k = s.K;
        bool accumulate = mode == WriteMode.Accumulate;
        using var xr = RoundedOperand.Of(_work, x, (long)m * k, s.Precision);
        using var wr = RoundedOperand.Of(_work, w, (long)n * k, s.Precision);
        var (ya, yo) = Arr(y); var (xa, xo) = (xr.Data, xr.Offset); var (wa, wo) = (wr.Data, wr.Offset);
        // A = x (row stride k), B(p, j) = w[j, p]. Few rows (decode) stream w once; both paths give the same bits,
        // so a row's result does not depend on how many rows share the call.
        if (m <= SkinnySgemm.MaxRows)
        {
            SkinnySgemm.Run(_work, m, n, k, xa, xo, k, 1, wa, wo, 1, k, ya, yo, n, accumulate);
            return;
        }
        Sgemm.Run(_work, m, n, k, xa, xo, k, 1, wa, wo, 1, k, ya, yo, n, accumulate);
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode)
    {
        OpContract.MatMulBackwardInput(dx, dy, w, s, mode, Limits);
        int m = s.M, n = s.N, k = s.K;
        // Autocast's backward multiplies the bf16 grad by the bf16 weight it saved.
        using var gr = RoundedOperand.Of(_work, dy, (long)m * n, s.Precision);
        using var wr = RoundedOperand.Of(_work, w, (long)n * k, s.Precision);
        var (da, dof) = Arr(dx); var (ga, go) = (gr.Data, gr.Offset); var (wa, wo) = (wr.Data, wr.Offset);
        // C = dx [m, k], A = dy [m, n], B = w [n, k].
        Sgemm.Run(_work, m, k, n, ga, go, n, 1, wa, wo, k, 1, da, dof, k, accumulate: mode == WriteMode.Accumulate);
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode)
    {
        OpContract.MatMulBackwardWeight(dw, dy, x, s, mode, Limits);
        int m = s.M, n = s.N, k = s.K;
        using var gr = RoundedOperand.Of(_work, dy, (long)m * n, s.Precision);
        using var xr = RoundedOperand.Of(_work, x, (long)m * k, s.Precision);
        var (da, dof) = Arr(dw); var (ga, go) = (gr.Data, gr.Offset); var (xa, xo) = (xr.Data, xr.Offset);
        // C = dw [n, k], A(i, p) = dy[p, i], B = x [m, k].
        Sgemm.Run(_work, n, k, m, ga, go, 1, n, xa, xo, k, 1, da, dof, k, accumulate: mode == WriteMode.Accumulate);
    }
}

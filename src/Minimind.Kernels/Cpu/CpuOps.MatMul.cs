namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    // Every layout goes through Sgemm, whatever M (few rows take its skinny loop order, same per-element sums), so a
    // row's result does not depend on how many rows are computed with it. Operands are rounded to the matmul's
    // precision as they are packed: no rounded copy of x or w is made first.

    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite)
    {
        var (ya, yo) = Arr(y); var (xa, xo) = In(x); var (wa, wo) = In(w);
        int k = s.K;
        // A = x (row stride k), B(p, j) = w[j, p]; w's panels come packed when its buffer keeps them.
        Sgemm.Run(_work, Isa, s.M, s.N, k, xa, xo, k, 1, wa, wo, 1, k, ya, yo, s.N, mode == WriteMode.Accumulate, s.Precision,
            packedB: KeptPanels(w, s.N, k, 1, k, s.Precision));
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode)
    {
        int m = s.M, n = s.N, k = s.K;
        // Autocast's backward multiplies the bf16 grad by the bf16 weight it saved: both round as they are packed.
        var (da, dof) = Arr(dx); var (ga, go) = In(dy); var (wa, wo) = In(w);
        // C = dx [m, k], A = dy [m, n], B = w [n, k] (kept packed too: micro-batches of one step read the same w).
        Sgemm.Run(_work, Isa, m, k, n, ga, go, n, 1, wa, wo, k, 1, da, dof, k, mode == WriteMode.Accumulate, s.Precision,
            packedB: KeptPanels(w, k, n, k, 1, s.Precision));
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode)
    {
        int m = s.M, n = s.N, k = s.K;
        var (da, dof) = Arr(dw); var (ga, go) = In(dy); var (xa, xo) = In(x);
        // C = dw [n, k], A(i, p) = dy[p, i], B = x [m, k].
        Sgemm.Run(_work, Isa, n, k, m, ga, go, 1, n, xa, xo, k, 1, da, dof, k, mode == WriteMode.Accumulate, s.Precision);
    }
}

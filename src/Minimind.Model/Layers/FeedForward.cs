using Minimind.Kernels;

namespace Minimind.Model.Layers;

/// <summary>Saved activations of one SwiGLU FFN over some rows: gate = x·W1ᵀ, up = x·W3ᵀ, h = silu(gate)·up.</summary>
public readonly record struct FfnActs(Tensor Gate, Tensor Up, Tensor H);

/// <summary>Gradient scratch of one SwiGLU FFN (same shapes as <see cref="FfnActs"/>).</summary>
public readonly record struct FfnScratch(Tensor DGate, Tensor DUp, Tensor DH);

/// <summary>The SwiGLU feed-forward y = W2·(silu(W1·x) ⊙ W3·x), as explicit forward/backward functions.</summary>
public static class FeedForward
{
    /// <summary>Views of the first <paramref name="rows"/> rows of the FFN activations starting at row <paramref name="row0"/>.</summary>
    public static FfnActs Rows(FfnActs a, int row0, int rows, int hidden) =>
        new(a.Gate.Slice((long)row0 * hidden, (long)rows * hidden), a.Up.Slice((long)row0 * hidden, (long)rows * hidden),
            a.H.Slice((long)row0 * hidden, (long)rows * hidden));

    /// <summary>y[rows, dim] = FFN(x) (or y += FFN(x) when <paramref name="accumulate"/>); matmul operands at <paramref name="p"/>.</summary>
    public static void Forward(IBackend be, Tensor y, Tensor x, Tensor w1, Tensor w2, Tensor w3, FfnActs acts,
        int rows, int dim, int hidden, bool accumulate, Precision p = Precision.Fp32)
    {
        be.MatMul(acts.Gate, x, w1, new(rows, hidden, dim, p));
        be.MatMul(acts.Up, x, w3, new(rows, hidden, dim, p));
        be.SwiGlu(acts.H, acts.Gate, acts.Up);
        be.MatMul(y, acts.H, w2, new(rows, dim, hidden, p), accumulate ? WriteMode.Accumulate : WriteMode.Overwrite);
    }

    /// <summary>dx = or += ∂/∂x (<paramref name="dxMode"/>), dW1/dW2/dW3 += their gradients, given dy and the saved
    /// activations (matmul operands at <paramref name="p"/>; without <paramref name="weightGradients"/> the weights are frozen
    /// and dW is not computed). Scratch contents are overwritten (never read first, so never zeroed).</summary>
    public static void Backward(IBackend be, Tensor dx, Tensor dw1, Tensor dw2, Tensor dw3, Tensor dy, Tensor x,
        Tensor w1, Tensor w2, Tensor w3, FfnActs acts, FfnScratch s, int rows, int dim, int hidden, WriteMode dxMode, Precision p = Precision.Fp32,
        bool weightGradients = true)
    {
        be.MatMulBackwardInput(s.DH, dy, w2, new(rows, dim, hidden, p), WriteMode.Overwrite);
        if (weightGradients) be.MatMulBackwardWeight(dw2, dy, acts.H, new(rows, dim, hidden, p), WriteMode.Accumulate);
        be.SwiGluBackward(s.DGate, s.DUp, s.DH, acts.Gate, acts.Up, WriteMode.Overwrite);
        be.MatMulBackwardInput(dx, s.DGate, w1, new(rows, hidden, dim, p), dxMode);
        if (weightGradients) be.MatMulBackwardWeight(dw1, s.DGate, x, new(rows, hidden, dim, p), WriteMode.Accumulate);
        be.MatMulBackwardInput(dx, s.DUp, w3, new(rows, hidden, dim, p), WriteMode.Accumulate);
        if (weightGradients) be.MatMulBackwardWeight(dw3, s.DUp, x, new(rows, hidden, dim, p), WriteMode.Accumulate);
    }
}

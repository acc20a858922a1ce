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

    /// <summary>y[rows, dim] = FFN(x) (or y += FFN(x) when <paramref name="accumulate"/>).</summary>
    public static void Forward(IBackend be, Tensor y, Tensor x, Tensor w1, Tensor w2, Tensor w3, FfnActs acts,
        int rows, int dim, int hidden, bool accumulate)
    {
        be.MatMul(acts.Gate, x, w1, rows, hidden, dim);
        be.MatMul(acts.Up, x, w3, rows, hidden, dim);
        be.SwiGlu(acts.H, acts.Gate, acts.Up);
        be.MatMul(y, acts.H, w2, rows, dim, hidden, accumulate);
    }

    /// <summary>dx += ∂/∂x, dW1/dW2/dW3 += their gradients, given dy and the saved activations.
    /// Scratch contents are overwritten.</summary>
    public static void Backward(IBackend be, Tensor dx, Tensor dw1, Tensor dw2, Tensor dw3, Tensor dy, Tensor x,
        Tensor w1, Tensor w2, Tensor w3, FfnActs acts, FfnScratch s, int rows, int dim, int hidden)
    {
        be.Fill(s.DH, 0f); be.Fill(s.DGate, 0f); be.Fill(s.DUp, 0f);
        be.MatMulBackwardInput(s.DH, dy, w2, rows, dim, hidden);
        be.MatMulBackwardWeight(dw2, dy, acts.H, rows, dim, hidden);
        be.SwiGluBackward(s.DGate, s.DUp, s.DH, acts.Gate, acts.Up);
        be.MatMulBackwardInput(dx, s.DGate, w1, rows, hidden, dim);
        be.MatMulBackwardWeight(dw1, s.DGate, x, rows, hidden, dim);
        be.MatMulBackwardInput(dx, s.DUp, w3, rows, hidden, dim);
        be.MatMulBackwardWeight(dw3, s.DUp, x, rows, hidden, dim);
    }
}

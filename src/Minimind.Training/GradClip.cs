namespace Minimind.Training;

/// <summary>
/// torch.nn.utils.clip_grad_norm_ semantics: total = ‖g‖₂ over every gradient;
/// coefficient = min(1, maxNorm / (total + 1e-6)); gradients are multiplied by it.
/// The multiply is folded into the AdamW kernel's gradScale, so no extra pass over the gradients.
/// </summary>
public static class GradClip
{
    /// <summary>The factor clip_grad_norm_ multiplies gradients by, given Σg² (from IBackend.SumOfSquares).
    /// A non-positive <paramref name="maxNorm"/> disables clipping (factor 1).</summary>
    public static float Coefficient(double sumOfSquares, double maxNorm)
    {
        if (maxNorm <= 0) return 1f;
        double total = Math.Sqrt(sumOfSquares);
        // torch computes the coefficient in float32: max_norm / (total_norm + 1e-6), clamped to 1.
        float coef = (float)maxNorm / ((float)total + 1e-6f);
        return Math.Min(coef, 1f);
    }
}

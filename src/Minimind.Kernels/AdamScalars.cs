namespace Minimind.Kernels;

/// <summary>
/// AdamW's per-step scalars, computed on the host in float64 and rounded to float32 as torch does for its Python
/// scalars; every backend's update uses these, so all of them round alike.
/// </summary>
public readonly struct AdamScalars
{
    /// <summary>1 − lr·wd, β1, β2, 1−β1, 1−β2, sqrt(1−β2^step), −lr/(1−β1^step), eps, gradient scale.</summary>
    public readonly float Decay, B1, B2, C1, C2, Bc2Sqrt, NegStep, Eps, GradScale;

    /// <summary>Computes the scalars for one step (1-based).</summary>
    public AdamScalars(float lr, float beta1, float beta2, float eps, float weightDecay, long step, float gradScale)
    {
        double bc1 = 1.0 - Math.Pow(beta1, step), bc2 = 1.0 - Math.Pow(beta2, step);
        Decay = (float)(1.0 - (double)lr * weightDecay);
        B1 = beta1; B2 = beta2; C1 = (float)(1.0 - beta1); C2 = (float)(1.0 - beta2);
        Bc2Sqrt = (float)Math.Sqrt(bc2); NegStep = (float)(-(lr / bc1)); Eps = eps; GradScale = gradScale;
    }

    /// <summary>One element's update, the float32 operations every backend performs in this order (the CPU's vector
    /// lanes too): g' = g·scale, m = m·β1 + (1−β1)·g', v = v·β2 + ((1−β2)·g')·g', and the new parameter
    /// p·decay + (−step·m) / (√v / √(1−β2^t) + eps), returned.</summary>
    public float Update(float p, float g, ref float m, ref float v)
    {
        float gi = g * GradScale;
        float pi = p * Decay;
        m = m * B1 + C1 * gi;
        v = v * B2 + C2 * gi * gi;
        float denom = MathF.Sqrt(v) / Bc2Sqrt + Eps;
        return pi + NegStep * m / denom;
    }
}

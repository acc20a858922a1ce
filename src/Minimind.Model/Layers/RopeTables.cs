using Minimind.Kernels;

namespace Minimind.Model.Layers;

/// <summary>RoPE cos/sin tables [maxPos, headDim/2], computed on the host in float32 as PyTorch does.</summary>
public static class RopeTables
{
    /// <summary>
    /// freq_i = 1/θ^(2i/hd) with the exponent formed in float32 (torch.arange(0,hd,2).float()/hd), YaRN-scaled when
    /// <paramref name="scaling"/> is set, angle = float32(pos)·freq_i in float32, then cos/sin of that float32 angle
    /// (× the YaRN attention factor), as MiniMind's <c>precompute_freqs_cis</c>.
    /// </summary>
    public static (float[] cos, float[] sin) Compute(int headDim, int maxPos, float theta, RopeScaling? scaling = null)
    {
        int half = headDim / 2;
        var freq = new float[half];
        for (int i = 0; i < half; i++)
        {
            float expo = (2 * i) / (float)headDim;
            // torch: theta ** expo in float32 then 1.0 / that; pow evaluated in double and rounded once
            float p = (float)Math.Pow(theta, expo);
            freq[i] = 1f / p;
        }
        scaling?.ScaleFrequencies(freq, headDim, theta);
        float attn = (float)(scaling?.AttentionFactor ?? 1.0);
        var cos = new float[(long)maxPos * half];
        var sin = new float[(long)maxPos * half];
        for (int t = 0; t < maxPos; t++)
            for (int i = 0; i < half; i++)
            {
                float a = t * freq[i];
                cos[t * half + i] = (float)Math.Cos(a) * attn;
                sin[t * half + i] = (float)Math.Sin(a) * attn;
            }
        return (cos, sin);
    }
}

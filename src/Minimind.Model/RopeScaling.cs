namespace Minimind.Model;

/// <summary>
/// YaRN RoPE scaling as MiniMind's <c>precompute_freqs_cis</c> applies it (<c>inference_rope_scaling</c>, model_minimind.py
/// at d65ef2c): a static per-frequency ramp, the same at every position. With d the head dim and θ the base,
/// inv(β) = d·ln(orig / (2πβ)) / (2·ln θ), low = max(⌊inv(β_fast)⌋, 0), high = min(⌈inv(β_slow)⌉, d/2 − 1),
/// ramp_i = clamp((i − low) / max(high − low, 0.001), 0, 1), freq_i × (1 − ramp_i + ramp_i / factor); cos and sin × the
/// attention factor. MiniMind's values: factor 16, original 2048, β_fast 32, β_slow 1, attention factor 1.
/// </summary>
/// <remarks>
/// MiniMind scales only when its table length, <c>max_position_embeddings</c>, exceeds the original context. That
/// length is 32768 (<see cref="MiniMindTableLength"/>; its eval and serve scripts never change it), so with
/// <c>--inference_rope_scaling</c> every position is scaled, those below the original context included. Our RoPE tables
/// are sized by the context (<c>--max-seq-len</c>, e.g. 512), which says nothing about MiniMind's decision: a set
/// <see cref="RopeScaling"/> therefore always scales, and MiniMind's rule is applied where its table length is known —
/// reading a MiniMind <c>config.json</c> (<see cref="AppliesAt"/>).
/// </remarks>
public readonly record struct RopeScaling(double Factor, int OriginalMaxPositions, double BetaFast = 32, double BetaSlow = 1, double AttentionFactor = 1)
{
    /// <summary>MiniMind's default <c>max_position_embeddings</c>, the length of its RoPE table.</summary>
    public const int MiniMindTableLength = 32768;

    /// <summary>MiniMindConfig's dict: factor 16, original 2048, β 32/1, attention factor 1.</summary>
    public static RopeScaling MiniMind => new(16, 2048);

    /// <summary>MiniMind's rule: a table of <paramref name="tableLength"/> positions is scaled only when longer than the original context.</summary>
    public bool AppliesAt(int tableLength) => (double)tableLength / OriginalMaxPositions > 1.0;

    /// <summary>Throws an ArgumentException naming the field when the values cannot be used.</summary>
    public void Validate()
    {
        if (!(double.IsFinite(Factor) && Factor > 0)) throw new ArgumentException($"rope scaling factor {Factor} must be a finite number above 0");
        if (OriginalMaxPositions < 1) throw new ArgumentException($"rope scaling original_max_position_embeddings {OriginalMaxPositions} must be at least 1");
        if (!(double.IsFinite(BetaFast) && BetaFast > 0 && double.IsFinite(BetaSlow) && BetaSlow > 0))
            throw new ArgumentException($"rope scaling beta_fast {BetaFast} and beta_slow {BetaSlow} must be finite numbers above 0");
        if (!double.IsFinite(AttentionFactor)) throw new ArgumentException($"rope scaling attention_factor {AttentionFactor} must be finite");
    }

    /// <summary>Scales the frequencies <paramref name="freq"/> (length headDim/2) in place, in float32 as torch does.</summary>
    public void ScaleFrequencies(float[] freq, int headDim, double theta)
    {
        int half = headDim / 2;
        // Python floats (double) for the band limits, as the lambda computes them
        int orig = OriginalMaxPositions;
        double InvDim(double beta) => headDim * Math.Log(orig / (beta * 2 * Math.PI)) / (2 * Math.Log(theta));
        int low = Math.Max((int)Math.Floor(InvDim(BetaFast)), 0);
        int high = Math.Min((int)Math.Ceiling(InvDim(BetaSlow)), half - 1);
        float span = high - low >= 1 ? high - low : 0.001f;
        float factor = (float)Factor;
        for (int i = 0; i < half; i++)
        {
            float ramp = Math.Clamp(((float)i - low) / span, 0f, 1f);
            freq[i] *= 1f - ramp + ramp / factor;
        }
    }

    /// <summary>
    /// The <c>rope.scaling.attn_factor</c> a GGUF needs for llama.cpp to reproduce these tables: llama.cpp multiplies
    /// cos/sin by (1 + 0.1·ln factor) × attn_factor where MiniMind multiplies by the attention factor alone.
    /// </summary>
    public double LlamaCppAttnFactor => AttentionFactor / (1 + 0.1 * Math.Log(Factor));
}

using Minimind.Checkpoint;

namespace Minimind.Training;

/// <summary>
/// torch.amp.GradScaler's dynamic loss scaling for fp16 runs, with its default rules: the loss is multiplied by
/// <see cref="Scale"/> (init 65536) before the backward; when any gradient is inf/NaN the optimizer step is skipped and the
/// scale halves, otherwise after <see cref="GrowthInterval"/> (2000) good steps in a row it doubles (when still finite).
/// Gradients are unscaled (×1/scale, exact: the scale is a power of two) before clipping, as MiniMind calls unscale_
/// before clip_grad_norm_. Disabled (bf16/fp32) it scales by 1 and never skips, and saves an empty state as torch does.
/// </summary>
public sealed class GradScaler
{
    /// <summary>torch's init_scale.</summary>
    public const float InitScale = 65536f;
    /// <summary>torch's growth_factor.</summary>
    public const float GrowthFactor = 2f;
    /// <summary>torch's backoff_factor.</summary>
    public const float BackoffFactor = 0.5f;
    /// <summary>torch's growth_interval.</summary>
    public const int GrowthInterval = 2000;

    /// <summary>Whether scaling is on (fp16 runs).</summary>
    public bool Enabled { get; }
    /// <summary>The current loss scale (1 when disabled).</summary>
    public float Scale { get; private set; }
    /// <summary>Good steps since the last change of scale (torch's _growth_tracker).</summary>
    public int GrowthTracker { get; private set; }

    /// <summary>A scaler at torch's initial state.</summary>
    public GradScaler(bool enabled) { Enabled = enabled; Scale = enabled ? InitScale : 1f; }

    /// <summary>Restores a saved state (resume); ignored when disabled.</summary>
    public void Restore(float scale, int growthTracker)
    {
        if (!Enabled) return;
        if (!(scale > 0) || !float.IsFinite(scale)) throw new InvalidDataException($"GradScaler scale {scale} is not a positive finite number");
        if (growthTracker < 0 || growthTracker >= GrowthInterval)
            throw new InvalidDataException($"GradScaler growth tracker {growthTracker} is outside [0, {GrowthInterval})");
        Scale = scale; GrowthTracker = growthTracker;
    }

    /// <summary>torch's _amp_update_scale_: back off on an overflow, grow after <see cref="GrowthInterval"/> good steps.</summary>
    public void Update(bool foundInf)
    {
        if (!Enabled) return;
        if (foundInf) { Scale *= BackoffFactor; GrowthTracker = 0; return; }
        int good = GrowthTracker + 1;
        if (good == GrowthInterval)
        {
            float grown = Scale * GrowthFactor;
            if (float.IsFinite(grown)) Scale = grown;
            GrowthTracker = 0;
        }
        else GrowthTracker = good;
    }

    /// <summary>GradScaler.state_dict(): {scale, growth_factor, backoff_factor, growth_interval, _growth_tracker}, or {} disabled.</summary>
    public PickleDict ToStateDict() => !Enabled ? new PickleDict() : new PickleDict
    {
        ["scale"] = (double)Scale, ["growth_factor"] = (double)GrowthFactor, ["backoff_factor"] = (double)BackoffFactor,
        ["growth_interval"] = (long)GrowthInterval, ["_growth_tracker"] = (long)GrowthTracker,
    };

    /// <summary>GradScaler.load_state_dict: restores scale and tracker from a MiniMind 'scaler' entry; an empty dict (a
    /// disabled scaler's) keeps the initial state. Factors other than torch's defaults are refused, naming the key.</summary>
    public void LoadStateDict(PickleDict d, string source)
    {
        if (d.Count == 0 || !Enabled) return;
        double Get(string k) => d.TryGetValue(k, out var o) ? o switch { double x => x, long l => l, int i => i, _ => double.NaN }
            : throw new InvalidDataException($"{source}: 'scaler' has no '{k}'");
        if (Get("growth_factor") != GrowthFactor || Get("backoff_factor") != BackoffFactor || Get("growth_interval") != GrowthInterval)
            throw new InvalidDataException($"{source}: 'scaler' uses growth_factor {Get("growth_factor")}, backoff_factor {Get("backoff_factor")}, " +
                $"growth_interval {Get("growth_interval")}; this trainer runs torch's defaults (2, 0.5, 2000)");
        Restore((float)Get("scale"), (int)Get("_growth_tracker"));
    }
}

using Minimind.Checkpoint;

namespace Minimind.Model.Export;

/// <summary>
/// A checkpoint's weights in the model's own layout, for writers of other formats: the state dict is loaded
/// strictly into one flat float32 buffer (prefixes stripped, every key checked), so each writer only maps
/// <see cref="ParameterLayout"/> roles to its names. f16/bf16 sources round-trip bit for bit through float32.
/// </summary>
public sealed class ExportWeights
{
    /// <summary>The architecture.</summary>
    public ModelConfig Config { get; }
    /// <summary>Where each parameter is.</summary>
    public ParameterLayout Layout { get; }
    private readonly float[] _flat;

    /// <summary>Loads <paramref name="sd"/> for <paramref name="config"/> (throws naming missing/unexpected keys).</summary>
    public ExportWeights(ModelConfig config, StateDict sd)
    {
        Config = config;
        Layout = new ParameterLayout(config);
        _flat = new float[Layout.Table.TotalElements];
        StateDictLoader.Load(sd, Layout.Table, _flat, strict: true);
    }

    /// <summary>The elements of one parameter (row-major, PyTorch shape <see cref="ParameterEntry.Shape"/>).</summary>
    public ReadOnlySpan<float> Of(ParameterEntry e) => _flat.AsSpan(checked((int)e.Offset), checked((int)e.Numel));

    /// <summary>A tensor of <paramref name="e"/> stored as <paramref name="dtype"/>.</summary>
    public TorchTensor Tensor(ParameterEntry e, TorchDType dtype) => TorchTensor.FromFloat32(Of(e).ToArray(), e.Shape, dtype);

    /// <summary>
    /// Rows of a q/k projection reordered within each head between interleaved RoPE pairs (2i, 2i+1) and rotate-half
    /// pairs (i, i + hd/2) (<paramref name="toRotateHalf"/> false: the inverse). Attention scores are unchanged when
    /// q and k get the same permutation, so a model changes RoPE layout without changing its outputs.
    /// </summary>
    public float[] PermuteRope(ParameterEntry e, int heads, bool toRotateHalf)
    {
        var src = Of(e);
        int hd = Config.HeadDim, cols = e.Shape[1];
        var r = new float[src.Length];
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < hd; j++)
            {
                // rotate-half row j holds interleaved row 2j (first half) or 2(j - hd/2) + 1 (second half)
                int inter = j < hd / 2 ? 2 * j : 2 * (j - hd / 2) + 1;
                int from = toRotateHalf ? inter : j, to = toRotateHalf ? j : inter;
                src.Slice((h * hd + from) * cols, cols).CopyTo(r.AsSpan((h * hd + to) * cols, cols));
            }
        return r;
    }
}

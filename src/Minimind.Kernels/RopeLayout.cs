namespace Minimind.Kernels;

/// <summary>How a head vector's elements are paired for the rotary embedding.</summary>
public enum RopeLayout
{
    /// <summary>Pairs (2i, 2i+1), as the 2024 <c>Transformer</c> does through <c>view_as_complex</c>.</summary>
    Interleaved,
    /// <summary>Pairs (i, i + hd/2), as <c>MiniMindForCausalLM</c>'s <c>rotate_half</c> does.</summary>
    RotateHalf,
}

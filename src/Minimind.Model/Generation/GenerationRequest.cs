namespace Minimind.Model.Generation;

/// <summary>
/// A sequence to generate: its prompt, where its positions start, how it samples and when it stops.
/// </summary>
public sealed class GenerationRequest
{
    /// <summary>Prompt ids (at least one), fed in one prefill.</summary>
    public required int[] Prompt { get; init; }

    /// <summary>The sampling state of this sequence: options and its own random stream (see <see cref="Sampler.RngState"/>).
    /// The engine draws from it and nothing else does, so a sequence samples the same tokens whatever runs beside it.</summary>
    public required Sampler Sampler { get; init; }

    /// <summary>Most tokens to generate (at least 1; the stop token counts).</summary>
    public int MaxNewTokens { get; init; } = int.MaxValue;

    /// <summary>Ids that end the sequence when sampled (eos, a chat template's end of turn).</summary>
    public IReadOnlyCollection<int> StopIds { get; init; } = Array.Empty<int>();

    /// <summary>RoPE position of the first prompt token (0 by default). MiniMind pads a rollout batch on the left and counts
    /// the pads in the positions: a prompt of L tokens in a batch padded to P starts at P − L, and its pads, masked out of
    /// attention there, are simply absent here, which gives the same attention.</summary>
    public int PositionOffset { get; init; }
}

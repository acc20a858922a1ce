namespace Minimind.Model.Generation;

/// <summary>What <see cref="RolloutEngine.Force"/> computed for one sequence's given tokens.</summary>
/// <param name="Sequence">The sequence's id.</param>
/// <param name="Logits">[K, V]: row j is the distribution token j was scored from (row 0 the sequence's next-token logits
/// before the call, row j &gt; 0 the forward's output at token j − 1).</param>
/// <param name="LogProbs">log p(token j | everything before it), the float64 log-softmax of row j (<see cref="Sampler.LogProb"/>).</param>
public sealed record ForcedTokens(int Sequence, float[] Logits, double[] LogProbs);

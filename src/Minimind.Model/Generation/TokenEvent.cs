namespace Minimind.Model.Generation;

/// <summary>
/// One token a sequence sampled in a <see cref="RolloutEngine.Step"/>.
/// </summary>
/// <param name="Sequence">The sequence's id (from <see cref="RolloutEngine.Add"/> or <see cref="RolloutEngine.Fork"/>).</param>
/// <param name="Token">The sampled id (a stop id when <paramref name="Finish"/> is <see cref="FinishReason.Stop"/>).</param>
/// <param name="LogProb">log softmax(logits)[Token] of the raw model (temperature 1, before repetition penalty, top-k and
/// top-p; float64 from the float32 logits of the decode path): the per-token log-prob MiniMind's rollout computes with a
/// separate forward, here from the logits that were sampled.</param>
/// <param name="Finish">Why the sequence stopped with this token, or <see cref="FinishReason.None"/> when it goes on.</param>
public readonly record struct TokenEvent(int Sequence, int Token, double LogProb, FinishReason Finish);

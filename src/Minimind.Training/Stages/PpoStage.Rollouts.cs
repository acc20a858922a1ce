using Minimind.Model.Tokenizer;
using Minimind.Training.Rl.Logging;

namespace Minimind.Training.Stages;

// PPO's rollouts for the rollout log and MiniMind's debug print: each step's one rollout batch with the step's loss and,
// per response token, the critic's old values, the whitened advantages and the returns the update used.
public sealed partial class PpoStage : IRolloutSource
{
    private readonly ITokenizer _tokenizer;
    private readonly List<(PpoRollout Prep, float Loss)> _kept = new();

    /// <inheritdoc/>
    public bool KeepRollouts { get; set; }

    /// <inheritdoc/>
    public RolloutConsoleForm ConsoleForm => RolloutConsoleForm.Ppo;

    /// <inheritdoc/>
    /// <remarks>One batch per step; its loss is the step's (the mean of its minibatch losses, as the metrics log's).</remarks>
    public IReadOnlyList<RolloutBatchRecord> TakeStepRollouts()
    {
        var records = _kept.Select(k => Record(k.Prep, k.Loss)).ToList();
        _kept.Clear();
        return records;
    }

    private RolloutBatchRecord Record(PpoRollout prep, float loss)
    {
        var a = prep.Advantages;
        int w = a.Width;
        var batch = prep.Rollout with { Loss = loss, Width = w, OldLogProbs = prep.OldLogProbs, Mask = a.Mask };
        var record = batch.ToRecord(_tokenizer);
        // one completion per prompt: prompt b is row b
        return record with
        {
            Prompts = record.Prompts.Select((p, b) => p with
            {
                Completions = p.Completions.Select(c => c with
                {
                    Values = a.OldValues.AsSpan(b * w, c.Ids.Length).ToArray(),
                    TokenAdvantages = a.Advantages.AsSpan(b * w, c.Ids.Length).ToArray(),
                    Returns = a.Returns.AsSpan(b * w, c.Ids.Length).ToArray(),
                }).ToList(),
            }).ToList(),
        };
    }
}

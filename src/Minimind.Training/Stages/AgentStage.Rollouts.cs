using Minimind.Training.Rl;
using Minimind.Training.Rl.Agent;
using Minimind.Training.Rl.Logging;

namespace Minimind.Training.Stages;

// Agent RL's rollouts for the rollout log and MiniMind's debug print: per row its prompt and ground truth; per rollout
// its own first-turn prompt, the response ids (model and observation tokens), the turn and observation spans, the
// turns' texts, the reward parts, the group advantage and the engine's old log-probs.
public sealed partial class AgentStage : IRolloutSource
{
    private readonly List<AgentRolloutBatch> _kept = new();

    /// <inheritdoc/>
    public bool KeepRollouts { get; set; }

    /// <inheritdoc/>
    public RolloutConsoleForm ConsoleForm => RolloutConsoleForm.Agent;

    /// <inheritdoc/>
    protected override AgentRolloutBatch Trained(AgentRolloutBatch rollout, float loss)
    {
        var trained = rollout with { Loss = loss };
        if (KeepRollouts) _kept.Add(trained);
        return trained;
    }

    /// <inheritdoc/>
    public IReadOnlyList<RolloutBatchRecord> TakeStepRollouts()
    {
        var records = _kept.Select(Record).ToList();
        _kept.Clear();
        return records;
    }

    private RolloutBatchRecord Record(AgentRolloutBatch b)
    {
        var tok = _set.Format.Tokenizer;
        int g = _o.Policy.Generations;
        var advantages = GroupAdvantages.Compute(b.Rewards.Select(x => x.Total).ToArray(), g);
        // the packed rows as the update saw them (cut to --max-total-len), for the debug print's prompt_len/seq_len
        var packed = AgentBatch.Pack(b.Trajectories.Select(t => t.Sequence).ToList(), _o.MaxTotalLen, tok.PadId, _set.Format.StopId);
        RolloutCompletionRecord Completion(int row)
        {
            var t = b.Trajectories[row];
            var s = t.Sequence;
            int plen = packed.PromptLengths[row], slen = packed.SequenceLengths[row];
            return new RolloutCompletionRecord(s.ResponseIds, tok.Decode(s.ResponseIds, skipSpecialTokens: false), s.ResponseMask.Select(m => (float)m).ToArray(),
                b.Rewards[row].Total, b.Rewards[row].Named(), s.OldLogProbs)
            {
                Advantage = advantages[row], PromptIds = s.PromptIds, TurnTexts = t.Turns, Turns = t.TurnSpans, Observations = t.ObservationSpans,
                AgentDebug = new AgentDebugView(t.Context, plen, slen, tok.Decode(packed.Ids.AsSpan(row * packed.Length + plen, slen - plen).ToArray(), skipSpecialTokens: false)),
            };
        }
        return new RolloutBatchRecord(b.Loss, b.Samples.Select((task, i) => new RolloutPromptRecord(task, _set.PromptIds(task), _set.PromptTexts[task],
            Enumerable.Range(i * g, g).Select(Completion).ToList()) { GroundTruth = _set.Tasks[task].Gt }).ToList());
    }
}

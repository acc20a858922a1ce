using Minimind.Model.Data;
using Minimind.Model.Generation;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Agent;

/// <summary>One finished multi-turn rollout: what is trained on and what the reward reads.</summary>
/// <param name="Task">The row it answers (index into the task set).</param>
/// <param name="Sequence">Prompt ids, response ids (model and observation tokens), the response mask and old log-probs.</param>
/// <param name="Turns">The model's decoded output of every turn (special tokens skipped).</param>
/// <param name="Unfinished">It still called tools on its last allowed turn (or its context ran out while calling tools).</param>
/// <param name="OpenThinking">Whether its turns were rendered with thinking open.</param>
/// <param name="Generated">Tokens the model sampled over its turns.</param>
public sealed record AgentTrajectory(int Task, AgentRollout Sequence, IReadOnlyList<string> Turns, bool Unfinished, bool OpenThinking, int Generated)
{
    /// <summary>The last turn's output (calculate_rewards' response).</summary>
    public string Response => Turns.Count > 0 ? Turns[^1] : "";
    /// <summary>rollout_single's final_context: the last turn's context + its output, or the conversation re-rendered after its tool results.</summary>
    public string Context { get; init; } = "";
    /// <summary>The [start, end) spans of <see cref="AgentRollout.ResponseIds"/> the model generated, one per turn (eos/pad dropped).</summary>
    public IReadOnlyList<Logging.TokenSpan> TurnSpans { get; init; } = Array.Empty<Logging.TokenSpan>();
    /// <summary>The [start, end) spans of observation tokens (tool results and the re-rendered template), one per turn that called tools.</summary>
    public IReadOnlyList<Logging.TokenSpan> ObservationSpans { get; init; } = Array.Empty<Logging.TokenSpan>();
}

/// <summary>One turn to sample: rollout <paramref name="Sequence"/>'s turn <paramref name="Turn"/> from <paramref name="Context"/>, at most
/// <paramref name="Budget"/> new tokens, its sampler seeded with <paramref name="Seed"/>.</summary>
public readonly record struct TurnRequest(int Sequence, int Turn, int[] Context, int Budget, ulong Seed);

/// <summary>Samples one turn per request, in order: the tokens (an eos that stopped it included) and each one's log-prob under the model.</summary>
public delegate (int[] Ids, float[] LogProbs)[] TurnSampler(IReadOnlyList<TurnRequest> requests);

/// <summary>
/// train_agent.py's rollout_batch on the <see cref="RolloutEngine"/>: every sequence of the batch (row b's G
/// rollouts are sequences b·G … b·G + G − 1) runs rollout_single's turns — render the conversation with the tools and
/// the generation prompt, sample one completion (eos and pad ids dropped from the trained ids), stop when it calls no
/// tool, else append it and each call's mock-tool result as messages and add the re-rendered template's new tokens as
/// observation tokens (mask 0, old log-prob 0) — and the turn's sequences are sampled together, one engine batch per
/// turn. Rollout g of row b draws its thinking switch and each turn from streams of its own, seeded from row b's prompt
/// seed (<see cref="RolloutRng.SeedOf"/>), so the result depends only on the prompt seeds, not on how the engine
/// schedules nor on which other rows share the batch. A turn whose context leaves no room in the engine's context
/// ends the rollout there (MiniMind's context is unbounded; its trainer keeps only the last <c>max_total_len</c> tokens).
/// </summary>
public static class MultiTurnRollout
{
    /// <summary>
    /// The rollouts of <paramref name="samples"/> (task indices) × <paramref name="options"/>' generations, sampled from
    /// <paramref name="engine"/>'s model, row b's with values derived from <paramref name="promptSeeds"/>[b].
    /// </summary>
    public static AgentTrajectory[] Run(RolloutEngine engine, AgentTaskSet set, IReadOnlyList<int> samples, AgentOptions options, IReadOnlyList<ulong> promptSeeds) =>
        Run(EngineTurns(engine, set.Format.StopId, options.Policy.Sampling), engine.Context, set, samples, options, promptSeeds);

    /// <summary>
    /// The rollouts with every turn sampled by <paramref name="sample"/> (the engine, or a scripted replay), each turn's
    /// context plus its tokens within <paramref name="context"/> positions.
    /// </summary>
    public static AgentTrajectory[] Run(TurnSampler sample, int context, AgentTaskSet set, IReadOnlyList<int> samples, AgentOptions options, IReadOnlyList<ulong> promptSeeds)
    {
        int g = options.Policy.Generations, n = samples.Count * g, turns = options.MaxTurns;
        if (promptSeeds.Count != samples.Count) throw new ArgumentException($"{promptSeeds.Count} prompt seeds for {samples.Count} rows");
        // Rollout r = b·G + k: turn t from SeedOf(seed_b, t·G + k), the thinking switch from SeedOf(seed_b, turns·G + k).
        ulong SeedOf(int r, int slot) => RolloutRng.SeedOf(promptSeeds[r / g], slot * g + r % g);
        var tok = set.Format.Tokenizer;
        var states = new State[n];
        for (int r = 0; r < n; r++)
        {
            var rng = new SplitMix64(SeedOf(r, turns));
            var task = set.Tasks[samples[r / g]];
            // msgs_copy = [dict(m) for m in messages]: the appended turns are this rollout's own
            states[r] = new State(samples[r / g], task, task.Messages.ToList(), rng.NextDouble() < options.ThinkingRatio);
        }
        for (int turn = 0; turn < turns; turn++)
        {
            var running = new List<(State S, TurnRequest Request)>();
            for (int r = 0; r < n; r++)
            {
                var s = states[r];
                if (s.Done) continue;
                s.TurnContext = set.Render(s.Messages, s.Task, addGenerationPrompt: true, s.OpenThinking);
                var ids = tok.Encode(s.TurnContext);
                s.PromptIds ??= ids;
                int budget = Math.Min(set.MaxGenLen, context - ids.Length);
                if (budget < 1)
                {
                    if (turn == 0) throw new InvalidDataException($"{s.Task.Origin}: its prompt ({ids.Length} tokens) fills the rollout context ({context}, --max-total-len)");
                    s.Done = true; s.Unfinished = true;
                    continue;
                }
                running.Add((s, new TurnRequest(r, turn, ids, budget, SeedOf(r, turn))));
            }
            if (running.Count == 0) break;
            var outputs = sample(running.Select(x => x.Request).ToList());
            for (int i = 0; i < running.Count; i++)
                Turn(running[i].S, set, outputs[i].Ids, outputs[i].LogProbs, lastTurn: turn == turns - 1);
        }
        return states.Select(s => new AgentTrajectory(s.TaskIndex, new AgentRollout(s.PromptIds ?? Array.Empty<int>(), s.Ids.ToArray(), s.Mask.ToArray(), s.Old.ToArray()),
            s.Turns, s.Unfinished, s.OpenThinking, s.Generated) { Context = s.Context, TurnSpans = s.TurnSpans, ObservationSpans = s.ObservationSpans }).ToArray();
    }

    // One engine batch per turn: every request prefilled, sampled together until each stops (eos, budget), read and released.
    private static TurnSampler EngineTurns(RolloutEngine engine, int eos, SamplingOptions sampling) => requests =>
    {
        var stop = new[] { eos };
        var ids = requests.Select(q => engine.Add(new GenerationRequest
        {
            Prompt = q.Context, Sampler = new Sampler(sampling, q.Seed), MaxNewTokens = q.Budget, StopIds = stop,
        })).ToArray();
        engine.RunAll();
        var outputs = new (int[] Ids, float[] LogProbs)[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            var seq = engine[ids[i]];
            var completion = seq.Completion.ToArray();
            outputs[i] = (completion, seq.LogProbs.Skip(seq.LogProbs.Count - completion.Length).Select(x => (float)x).ToArray());
            engine.Release(ids[i]);
        }
        return outputs;
    };

    // One turn's output: the model's tokens, then (when it called tools) the observation tokens of the re-rendered context.
    private static void Turn(State s, AgentTaskSet set, int[] completion, float[] logps, bool lastTurn)
    {
        var tok = set.Format.Tokenizer;
        int eos = set.Format.StopId, pad = tok.PadId;
        if (logps.Length != completion.Length) throw new ArgumentException($"a turn of {completion.Length} tokens came with {logps.Length} log-probs");
        s.Generated += completion.Length;
        int start = s.Ids.Count;
        for (int i = 0; i < completion.Length; i++)
        {
            if (completion[i] == eos || completion[i] == pad) continue;
            s.Ids.Add(completion[i]); s.Mask.Add(1); s.Old.Add(logps[i]);
        }
        s.TurnSpans.Add(new(start, s.Ids.Count));
        string text = tok.Decode(completion, skipSpecialTokens: true);
        s.Turns.Add(text);
        s.Context = s.TurnContext + text;
        var calls = ToolCalls.Parse(text);
        if (calls.Count == 0) { s.Done = true; return; }
        s.Unfinished = lastTurn;
        s.Messages.Add(Message("assistant", text));
        foreach (var call in calls)
        {
            var (name, args) = ToolCalls.NameAndArguments(call);
            s.Messages.Add(Message("tool", ToolCalls.Observation(name, args)));
        }
        s.Context = set.Render(s.Messages, s.Task, addGenerationPrompt: !s.Unfinished, s.OpenThinking);
        var observed = tok.Encode(s.Context);
        int current = s.PromptIds!.Length + s.Ids.Count, observationStart = s.Ids.Count;
        for (int i = current; i < observed.Length; i++) { s.Ids.Add(observed[i]); s.Mask.Add(0); s.Old.Add(0f); }
        s.ObservationSpans.Add(new(observationStart, s.Ids.Count));
        if (lastTurn) s.Done = true;
    }

    private static OrderedDictionary<string, object?> Message(string role, string content) =>
        new(StringComparer.Ordinal) { ["role"] = role, ["content"] = content };

    private sealed class State(int taskIndex, AgentTask task, List<object?> messages, bool openThinking)
    {
        public int TaskIndex { get; } = taskIndex;
        public AgentTask Task { get; } = task;
        public List<object?> Messages { get; } = messages;
        public bool OpenThinking { get; } = openThinking;
        public int[]? PromptIds { get; set; }
        public List<int> Ids { get; } = new();
        public List<int> Mask { get; } = new();
        public List<float> Old { get; } = new();
        public List<string> Turns { get; } = new();
        public bool Done { get; set; }
        public bool Unfinished { get; set; }
        public int Generated { get; set; }
        public string TurnContext { get; set; } = "";
        public string Context { get; set; } = "";
        public List<Logging.TokenSpan> TurnSpans { get; } = new();
        public List<Logging.TokenSpan> ObservationSpans { get; } = new();
    }
}

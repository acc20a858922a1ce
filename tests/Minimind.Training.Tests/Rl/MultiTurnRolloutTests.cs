using System.Text;
using Minimind.Model.Chat;
using Minimind.Training.Rl;
using Minimind.Training.Rl.Agent;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// train_agent.py's rollout_single on a scripted case, every id hand-derived: the byte tokenizer (a UTF-8 byte per token,
/// &lt;|im_start|&gt; 257, &lt;|im_end|&gt; 258) and the built-in agent template, turns fixed by a script instead of a model.
/// A rollout that calls a tool then answers, one that still calls on its last turn (unfinished: the observation is
/// rendered without the generation prompt), one that answers at once: the model's tokens (eos dropped, their
/// log-probs kept in order) under mask 1, the tool result's template tokens under mask 0 with old log-prob 0, each turn's
/// context equal to prompt + everything so far.
/// </summary>
public class MultiTurnRolloutTests
{
    private const int Start = 257, End = 258;
    private const string Call = "<tool_call>{\"name\": \"get_current_weather\", \"arguments\": {\"location\": \"Tokyo\"}}</tool_call>";
    // train_agent.py's MOCK_RESULTS["get_current_weather"] for Tokyo, json.dumps(ensure_ascii=False)
    private const string Observation = "{\"city\": \"Tokyo\", \"temperature\": \"12°C\", \"humidity\": \"65%\", \"condition\": \"晴\"}";

    // Hand tokenization: the chat markers are single ids, everything else its UTF-8 bytes.
    private static int[] Ids(params object[] parts) => parts.SelectMany(p => p switch
    {
        int id => new[] { id },
        string s => Encoding.UTF8.GetBytes(s).Select(b => (int)b),
        _ => throw new ArgumentException(),
    }).ToArray();

    private static AgentTaskSet Set(string dir)
    {
        string tools = "[{\\\"type\\\": \\\"function\\\", \\\"function\\\": {\\\"name\\\": \\\"get_current_weather\\\", \\\"parameters\\\": {}}}]";
        string path = Path.Combine(dir, "agent.jsonl");
        File.WriteAllText(path, "{\"conversations\": [{\"role\": \"system\", \"content\": \"Use tools.\", \"tools\": \"" + tools + "\"}, " +
            "{\"role\": \"user\", \"content\": \"Weather in Tokyo?\"}, {\"role\": \"assistant\", \"content\": \"12°C\"}], \"gt\": [\"12°C\"]}\n");
        return AgentTaskSet.Open(path, ChatFormat.Load("byte"), 128, 100, 512);
    }

    [Fact]
    public void TurnsAndObservationMasksAreTrainAgentsRolloutSingle()
    {
        using var d = new TempDir();
        var set = Set(d.Path);
        var script = new Dictionary<(int Sequence, int Turn), string>
        {
            [(0, 0)] = Call, [(0, 1)] = "It is 12°C.",
            [(1, 0)] = Call, [(1, 1)] = Call,
            [(2, 0)] = "No idea.",
        };
        var requests = new List<TurnRequest>();
        TurnSampler sampler = batch =>
        {
            requests.AddRange(batch);
            return batch.Select(q =>
            {
                var ids = Ids(script[(q.Sequence, q.Turn)], End);       // the model stops at eos
                var lp = ids.Select((_, i) => -(q.Sequence + 1) - 0.01f * i - q.Turn).ToArray();
                return (ids, lp);
            }).ToArray();
        };
        var options = new AgentOptions { Policy = new GrpoOptions { Generations = 3 }, MaxTurns = 2, ThinkingRatio = 0 };
        var t = MultiTurnRollout.Run(sampler, 512, set, new[] { 0 }, options, promptSeeds: new ulong[] { 99 });

        var prompt = Ids(Start, "system\nUse tools.\ntools: get_current_weather", End, "\n", Start, "user\nWeather in Tokyo?", End, "\n", Start, "assistant\n");
        var call = Ids(Call);
        var obsOpen = Ids(End, "\n", Start, "user\n<tool_response>" + Observation + "</tool_response>", End, "\n", Start, "assistant\n");
        var obsClosed = Ids(End, "\n", Start, "user\n<tool_response>" + Observation + "</tool_response>", End, "\n");
        var answer = Ids("It is 12°C.");
        float[] Logps(int seq, int turn, int n) => Enumerable.Range(0, n).Select(i => -(seq + 1) - 0.01f * i - turn).ToArray();

        // rollout 0: call, observation (generation prompt), answer
        Assert.Equal(prompt, t[0].Sequence.PromptIds);
        Assert.Equal([.. call, .. obsOpen, .. answer], t[0].Sequence.ResponseIds);
        Assert.Equal([.. Enumerable.Repeat(1, call.Length), .. Enumerable.Repeat(0, obsOpen.Length), .. Enumerable.Repeat(1, answer.Length)], t[0].Sequence.ResponseMask);
        Assert.Equal([.. Logps(0, 0, call.Length), .. new float[obsOpen.Length], .. Logps(0, 1, answer.Length)], t[0].Sequence.OldLogProbs);
        Assert.Equal(new[] { Call, "It is 12°C." }, t[0].Turns);
        Assert.False(t[0].Unfinished);
        Assert.Equal(call.Length + answer.Length + 2, t[0].Generated); // the eos of each turn was sampled

        // rollout 1: calls on its last turn: unfinished, the last observation closed without the generation prompt
        Assert.Equal([.. call, .. obsOpen, .. call, .. obsClosed], t[1].Sequence.ResponseIds);
        Assert.Equal([.. Enumerable.Repeat(1, call.Length), .. Enumerable.Repeat(0, obsOpen.Length), .. Enumerable.Repeat(1, call.Length), .. Enumerable.Repeat(0, obsClosed.Length)],
            t[1].Sequence.ResponseMask);
        Assert.True(t[1].Unfinished);

        // rollout 2: answers at once
        Assert.Equal(Ids("No idea."), t[2].Sequence.ResponseIds);
        Assert.All(t[2].Sequence.ResponseMask, m => Assert.Equal(1, m));
        Assert.Equal(new[] { "No idea." }, t[2].Turns);

        // the rollout log's spans (model tokens per turn, observations) and rollout_single's final_context (the template's text, specials as text)
        int c = call.Length, o = obsOpen.Length;
        string Text(params int[][] parts) => set.Format.Tokenizer.Decode(parts.SelectMany(x => x).ToArray(), skipSpecialTokens: false);
        Assert.Equal(new[] { (0, c), (c + o, c + o + answer.Length) }, t[0].TurnSpans.Select(x => (x.Start, x.End)));
        Assert.Equal(new[] { (c, c + o) }, t[0].ObservationSpans.Select(x => (x.Start, x.End)));
        Assert.Equal(Text(prompt, call, obsOpen) + "It is 12°C.", t[0].Context);
        Assert.Equal(new[] { (0, c), (c + o, 2 * c + o) }, t[1].TurnSpans.Select(x => (x.Start, x.End)));
        Assert.Equal(new[] { (c, c + o), (2 * c + o, 2 * c + o + obsClosed.Length) }, t[1].ObservationSpans.Select(x => (x.Start, x.End)));
        Assert.Equal(Text(prompt, call, obsOpen, call, obsClosed), t[1].Context);
        Assert.Equal(new[] { (0, Ids("No idea.").Length) }, t[2].TurnSpans.Select(x => (x.Start, x.End)));
        Assert.Empty(t[2].ObservationSpans);
        Assert.Equal(Text(prompt) + "No idea.", t[2].Context);

        // turn 0 for all three, turn 1 for the two that called; each turn's context is the prompt and all before it
        Assert.Equal(new[] { (0, 0), (1, 0), (2, 0), (0, 1), (1, 1) }, requests.Select(q => (q.Sequence, q.Turn)));
        Assert.Equal(prompt, requests[0].Context);
        Assert.Equal([.. prompt, .. call, .. obsOpen], requests[3].Context);
        Assert.Equal(100, requests[3].Budget);
        Assert.Equal(requests.Count, requests.Select(q => q.Seed).Distinct().Count());

        // packed as train_agent.py packs it: prompt and observation tokens out of the loss
        var packed = AgentBatch.Pack(t.Select(x => x.Sequence).ToList(), 2500, set.Format.Tokenizer.PadId, End);
        int w = packed.Length - 1, p = prompt.Length;
        var lossMask = packed.Mask.AsSpan(0, w).ToArray();
        Assert.Equal([.. new float[p - 1], .. Enumerable.Repeat(1f, call.Length), .. new float[obsOpen.Length], .. Enumerable.Repeat(1f, answer.Length),
            .. new float[w - (p - 1) - call.Length - obsOpen.Length - answer.Length]], lossMask);
    }

    [Fact]
    public void ARolloutWhoseContextFillsTheWindowEndsUnfinished()
    {
        using var d = new TempDir();
        var set = Set(d.Path);
        var options = new AgentOptions { Policy = new GrpoOptions { Generations = 2 }, MaxTurns = 3, ThinkingRatio = 0 };
        int calls = 0;
        // a 260-token window: the prompt (≈90) + a call (≈90) + the observation (≈150) leave no room for a second turn
        var t = MultiTurnRollout.Run(batch => batch.Select(q => { calls++; var ids = Ids(Call, End); return (ids, new float[ids.Length]); }).ToArray(),
            260, set, new[] { 0 }, options, promptSeeds: new ulong[] { 1 });
        Assert.Equal(2, calls);
        Assert.All(t, x => Assert.True(x.Unfinished));
        Assert.All(t, x => Assert.Single(x.Turns));
    }
}

using Minimind.Model.Chat;
using Minimind.Model.Chat.Jinja;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Generation;

/// <summary>
/// A multi-turn chat with a MiniMind model as MiniMind's <c>eval_llm.py</c> runs it: the conversation is rendered
/// with the tokenizer's chat template and its generation prompt (<c>open_thinking</c> on or off), the reply is
/// sampled until the end-of-turn id and stored, decoded without special tokens, as the assistant's content. The
/// conversation is one sequence of a <see cref="RolloutEngine"/> kept between turns: only the tokens after the longest
/// prefix shared with what its KV cache holds are fed (<see cref="RolloutEngine.Truncate"/> then
/// <see cref="RolloutEngine.Extend"/>), so a turn costs its own new tokens, not the whole history. When the history
/// outgrows the context, the oldest exchanges are dropped (the system prompt stays) and the cache is rebuilt.
/// </summary>
public sealed class ChatSession : IDisposable
{
    private readonly MiniMindModel _model;
    private readonly ChatFormat _format;
    private readonly Sampler _sampler;
    private readonly string? _system;
    private readonly List<(string Role, string Content)> _history = new();
    private readonly RolloutEngine _engine;
    private int? _sequence; // the conversation's sequence in the engine, once the first turn ran

    /// <summary>Think before answering (MiniMind's <c>--open_thinking 1</c>: the generation prompt ends in an open think block).</summary>
    public bool OpenThinking { get; set; }
    /// <summary>Messages kept from earlier turns (MiniMind's <c>--historys</c>; null = all that fit).</summary>
    public int? HistoryLimit { get; set; }
    /// <summary>Most tokens one reply may have.</summary>
    public int MaxNewTokens { get; set; } = 8192;
    /// <summary>Prompt tokens of the last turn served from the cache.</summary>
    public int LastReusedTokens { get; private set; }
    /// <summary>Prompt tokens of the last turn fed to the model.</summary>
    public int LastPrefilledTokens { get; private set; }
    /// <summary>The conversation so far (without the system prompt).</summary>
    public IReadOnlyList<(string Role, string Content)> History => _history;
    /// <summary>Tokens whose keys and values the session's cache holds.</summary>
    public int CachedTokens => _sequence is int id ? _engine[id].CachedLength : 0;

    /// <summary>Starts a chat; <paramref name="systemPrompt"/> (optional) opens every rendering.</summary>
    public ChatSession(MiniMindModel model, ChatFormat format, SamplingOptions sampling, string? systemPrompt = null)
    {
        _model = model;
        _format = format;
        _sampler = new Sampler(sampling);
        _system = systemPrompt;
        _engine = new RolloutEngine(model);
    }

    /// <summary>Forgets the conversation (the cache is rebuilt on the next turn).</summary>
    public void Reset()
    {
        _history.Clear();
        if (_sequence is int id) _engine.Release(id);
        _sequence = null;
    }

    /// <summary>Frees the session's KV cache.</summary>
    public void Dispose() => _engine.Dispose();

    /// <summary>The prompt ids <see cref="Reply"/> would feed for <paramref name="user"/> (history, message, generation prompt).</summary>
    public int[] PromptIds(string user) => Fit(user).Prompt;

    // The history window plus the message, with the oldest exchanges dropped until a short reply fits the context.
    private (List<(string Role, string Content)> Turns, int[] Prompt) Fit(string user)
    {
        var turns = Window(user);
        int[] prompt = Render(turns);
        while (prompt.Length >= _model.MaxSeqLen - 1 && turns.Count > 1)
        {
            turns.RemoveRange(0, Math.Min(2, turns.Count - 1));
            prompt = Render(turns);
        }
        if (prompt.Length >= _model.MaxSeqLen)
            throw new ContextOverflowException($"the message needs {prompt.Length} tokens; the context holds {_model.MaxSeqLen} (--max-seq-len)");
        return (turns, prompt);
    }

    private List<(string Role, string Content)> Window(string user)
    {
        var turns = new List<(string, string)>(_history);
        if (HistoryLimit is int n) turns = turns.Skip(Math.Max(0, turns.Count - n)).ToList();
        turns.Add(("user", user));
        return turns;
    }

    private int[] Render(List<(string Role, string Content)> turns)
    {
        var messages = new List<object?>();
        if (_system is not null) messages.Add(Message("system", _system));
        foreach (var (r, c) in turns) messages.Add(Message(r, c));
        var kwargs = new Dictionary<string, object?> { ["open_thinking"] = OpenThinking };
        string text;
        try { text = _format.Template.Render(messages, addGenerationPrompt: true, kwargs: kwargs); }
        catch (JinjaException e) { throw new InvalidDataException($"chat template: {e.Message}", e); }
        return _format.Tokenizer.Encode(text);
    }

    private static OrderedDictionary<string, object?> Message(string role, string content) =>
        new(StringComparer.Ordinal) { ["role"] = role, ["content"] = content };

    /// <summary>
    /// Answers <paramref name="user"/>: yields the reply's ids as they are sampled (stream them through a
    /// <see cref="StreamingDecoder"/>), then records the exchange in the history.
    /// </summary>
    public IEnumerable<int> Reply(string user)
    {
        var (turns, prompt) = Fit(user);
        int keep = 0;
        if (_sequence is int held)
        {
            _engine.Cancel(held); // a reply the caller stopped reading early
            var s = _engine[held];
            while (keep < s.CachedLength && keep < prompt.Length - 1 && s.Tokens[keep] == prompt[keep]) keep++;
            _engine.Truncate(held, keep);
            _engine.Extend(held, prompt.AsSpan(keep), MaxNewTokens);
        }
        else _sequence = _engine.Add(new GenerationRequest { Prompt = prompt, Sampler = _sampler, MaxNewTokens = MaxNewTokens, StopIds = new[] { _format.StopId } });
        LastReusedTokens = keep;
        LastPrefilledTokens = prompt.Length - keep;

        var reply = new List<int>();
        foreach (var e in _engine.Run(_sequence.Value))
        {
            if (e.Finish == FinishReason.Stop) break;
            reply.Add(e.Token);
            yield return e.Token;
        }
        _history.Clear();
        _history.AddRange(turns);
        _history.Add(("assistant", _format.Tokenizer.Decode(reply.ToArray(), skipSpecialTokens: true)));
    }
}

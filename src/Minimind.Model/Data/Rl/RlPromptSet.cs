using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Data.Sft;

namespace Minimind.Model.Data.Rl;

/// <summary>One RL prompt: its rendered text and token ids, and the built-in task whose rule scores it (null for an RLAIF row).</summary>
public sealed record RlPrompt(string Text, int[] Ids, BuiltinRlTask? Task);

/// <summary>
/// The prompts of <c>--stage grpo</c> (MiniMind's RLAIFDataset): each conversation without its last message rendered
/// with the chat template's generation prompt, cut to its last <c>maxPromptLen</c> tokens as train_grpo.py cuts them.
/// As an <see cref="IPretrainSource"/> a sample is a prompt: its row holds the prompt's ids then pad ids, no targets
/// (the rows the data hash covers); <see cref="SeqLen"/> is prompt plus generation budget, the model context a step needs.
/// </summary>
public sealed class RlPromptSet : IPretrainSource
{
    private readonly int _padId;

    /// <summary>Prompts in data order.</summary>
    public IReadOnlyList<RlPrompt> Prompts { get; }
    /// <summary>Most prompt tokens (<c>--max-seq-len</c>).</summary>
    public int MaxPromptLen { get; }
    /// <summary>Most generated tokens per completion (<c>--max-gen-len</c>).</summary>
    public int MaxGenLen { get; }
    /// <summary>What the prompts are (for the run's data description).</summary>
    public string Stats { get; }

    private RlPromptSet(IReadOnlyList<RlPrompt> prompts, int maxPromptLen, int maxGenLen, int padId, string stats)
    {
        if (prompts.Count == 0) throw new InvalidDataException("no RL prompts");
        Prompts = prompts; MaxPromptLen = maxPromptLen; MaxGenLen = maxGenLen; _padId = padId; Stats = stats;
    }

    /// <inheritdoc/>
    public long Count => Prompts.Count;
    /// <inheritdoc/>
    public int SeqLen => MaxPromptLen + MaxGenLen;

    /// <summary>
    /// The RoPE positions a trained rollout row may reach: a row of a shorter prompt starts at the batch's prompt width
    /// minus its length (MiniMind's left pads counted) and is eos-filled to the widest row, so up to 2·prompt + generation.
    /// </summary>
    public int Positions => 2 * MaxPromptLen + MaxGenLen;

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        var ids = Prompts[checked((int)index)].Ids;
        ids.CopyTo(inputs);
        inputs[ids.Length..].Fill(_padId);
        targets.Fill(Batch.IgnoreIndex);
    }

    /// <summary>Prompts already rendered and tokenized (each at most <paramref name="maxPromptLen"/> ids), rows padded with <paramref name="padId"/>.</summary>
    public static RlPromptSet FromPrompts(IReadOnlyList<RlPrompt> prompts, int maxPromptLen, int maxGenLen, int padId, string stats)
    {
        foreach (var p in prompts)
            if (p.Ids.Length == 0 || p.Ids.Length > maxPromptLen) throw new ArgumentException($"a prompt of {p.Ids.Length} ids (1 to {maxPromptLen} allowed)", nameof(prompts));
        return new RlPromptSet(prompts, maxPromptLen, maxGenLen, padId, stats);
    }

    /// <summary>
    /// The built-in verifiable tasks (<see cref="BuiltinRlTasks"/>) for the byte-tokenizer run: rendered without a system
    /// prompt and with thinking closed, the form the built-in SFT set teaches, so the toy model answers in the format the
    /// rule checks.
    /// </summary>
    public static RlPromptSet Builtin(ChatFormat format, int maxPromptLen, int maxGenLen, int count = BuiltinRlTasks.DefaultCount)
    {
        var prompts = BuiltinRlTasks.Create(count).Select(t =>
        {
            string text = RlaifPrompts.Render(t.Conversation, format.Template, new RlaifChoices(-1, false));
            return new RlPrompt(text, RlaifPrompts.Truncate(format.Tokenizer.Encode(text), maxPromptLen), t);
        }).ToList();
        return new RlPromptSet(prompts, maxPromptLen, maxGenLen, format.Tokenizer.PadId, $"{prompts.Count} verifiable tasks: sums, next letter, counting");
    }

    /// <summary>
    /// A jsonl of <c>{"conversations": [...]}</c> rows (MiniMind's rlaif.jsonl): the last message is dropped, a system prompt
    /// added with probability 0.2 and thinking opened with probability <paramref name="thinkingRatio"/>, each drawn per
    /// (<paramref name="seed"/>, row) as <see cref="RlaifPrompts.Choose"/> does. A prompt past <paramref name="maxPromptLen"/>
    /// keeps its end (train_grpo.py) or, with <paramref name="keepEnd"/> false, its start (train_ppo.py's tokenizer call).
    /// </summary>
    public static RlPromptSet Open(string path, ChatFormat format, int maxPromptLen, int maxGenLen, double thinkingRatio, ulong seed, bool keepEnd = true)
    {
        var prompts = new List<RlPrompt>();
        foreach (var line in JsonlTexts.ReadLines(path))
        {
            string origin = $"{path}:{line.LineNumber}";
            SftConversation conversation;
            try
            {
                using var doc = JsonDocument.Parse(line.Text);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("conversations", out var conv))
                    throw new InvalidDataException($"{origin}: expected {{\"conversations\": [...]}} (an RLAIF row)");
                conversation = SftConversation.Parse(conv, origin);
            }
            catch (JsonException e) { throw new InvalidDataException($"{origin}: not valid JSON: {e.Message}", e); }
            string text = RlaifPrompts.Render(conversation, format.Template, RlaifPrompts.Choose(seed, prompts.Count, thinkingRatio));
            prompts.Add(new RlPrompt(text, RlaifPrompts.Truncate(format.Tokenizer.Encode(text), maxPromptLen, keepEnd), null));
        }
        if (prompts.Count == 0) throw new InvalidDataException($"{path}: no RLAIF rows");
        return new RlPromptSet(prompts, maxPromptLen, maxGenLen, format.Tokenizer.PadId, $"{prompts.Count} prompts, thinking ratio {thinkingRatio}");
    }
}

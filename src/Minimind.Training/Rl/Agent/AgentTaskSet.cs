using System.Text.Json;
using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Chat.Jinja;
using Minimind.Model.Data;
using Minimind.Model.Data.Sft;

namespace Minimind.Training.Rl.Agent;

/// <summary>
/// The rows of <c>--stage agent</c> (MiniMind's AgentRLDataset over agent_rl.jsonl) with the chat format their
/// rollouts are rendered in. As an <see cref="IPretrainSource"/> a sample is a row: its model row holds the row's
/// prompt as train_agent.py renders it for the reward model (tools, generation prompt, thinking not opened) then pad
/// ids, no targets (what the data hash covers); <see cref="SeqLen"/> is <c>--max-total-len</c>, the longest sequence a
/// rollout reaches and a step trains on.
/// </summary>
public sealed class AgentTaskSet : IPretrainSource
{
    private readonly int[][] _promptIds;

    /// <summary>The rows in data order.</summary>
    public IReadOnlyList<AgentTask> Tasks { get; }
    /// <summary>Each row's prompt text (train_agent.py's <c>prompts</c>, the reward model's messages come from it).</summary>
    public IReadOnlyList<string> PromptTexts { get; }
    /// <summary>The tokenizer and the template the turns are rendered with.</summary>
    public ChatFormat Format { get; }
    /// <summary>Most tokens generated per turn (<c>--max-gen-len</c>).</summary>
    public int MaxGenLen { get; }
    /// <summary>What the rows are (for the run's data description).</summary>
    public string Stats { get; }

    private AgentTaskSet(IReadOnlyList<AgentTask> tasks, ChatFormat format, int maxPromptLen, int maxGenLen, int maxTotalLen, string stats)
    {
        if (tasks.Count == 0) throw new InvalidDataException("no agent RL rows");
        if (maxPromptLen < 1) throw new ArgumentException($"--max-seq-len must be positive, got {maxPromptLen}");
        if (maxGenLen < 1) throw new ArgumentException($"--max-gen-len must be positive, got {maxGenLen}");
        if ((long)maxPromptLen + maxGenLen > maxTotalLen)
            throw new ArgumentException($"--max-total-len {maxTotalLen} is shorter than a first turn (--max-seq-len {maxPromptLen} + --max-gen-len {maxGenLen}): raise it or lower those");
        // The template's own tokens for the built-in byte tokenizer: MiniMind's template handles tools; the built-in ChatML one cannot.
        if (ReferenceEquals(format.Template, ChatTemplate.Builtin)) format = new ChatFormat(format.Tokenizer, BuiltinTemplate);
        Tasks = tasks; Format = format; MaxGenLen = maxGenLen; SeqLen = maxTotalLen; Stats = stats;
        var texts = new string[tasks.Count];
        _promptIds = new int[tasks.Count][];
        for (int i = 0; i < tasks.Count; i++)
        {
            texts[i] = Render(tasks[i].Messages, tasks[i], addGenerationPrompt: true, openThinking: null);
            _promptIds[i] = format.Tokenizer.Encode(texts[i]);
            if (_promptIds[i].Length > maxPromptLen)
                throw new InvalidDataException($"{tasks[i].Origin}: its prompt has {_promptIds[i].Length} tokens, more than --max-seq-len {maxPromptLen} (MiniMind does not cut agent prompts: raise --max-seq-len, and --max-total-len with it)");
        }
        PromptTexts = texts;
    }

    /// <summary>Row <paramref name="task"/>'s prompt ids: <see cref="PromptTexts"/> encoded.</summary>
    public int[] PromptIds(int task) => _promptIds[task];

    /// <inheritdoc/>
    public long Count => Tasks.Count;
    /// <inheritdoc/>
    public int SeqLen { get; }

    /// <inheritdoc/>
    public void Fill(long index, Span<int> inputs, Span<int> targets)
    {
        var ids = _promptIds[checked((int)index)];
        ids.CopyTo(inputs);
        inputs[ids.Length..].Fill(Format.Tokenizer.PadId);
        targets.Fill(Batch.IgnoreIndex);
    }

    /// <summary>
    /// <c>tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=..., tools=..., open_thinking=...)</c>
    /// for <paramref name="task"/>'s tools (<paramref name="openThinking"/> null: not passed, as for the reward model's prompt).
    /// </summary>
    public string Render(List<object?> messages, AgentTask task, bool addGenerationPrompt, bool? openThinking)
    {
        try
        {
            return Format.Template.Render(messages, task.Tools, addGenerationPrompt,
                openThinking is { } t ? new Dictionary<string, object?> { ["open_thinking"] = t } : null);
        }
        catch (JinjaException e) { throw new InvalidDataException($"{task.Origin}: {e.Message}", e); }
    }

    /// <summary>The rows of a jsonl of <c>{"conversations": [...], "gt": [...]}</c> (MiniMind's agent_rl.jsonl).</summary>
    public static AgentTaskSet Open(string path, ChatFormat format, int maxPromptLen, int maxGenLen, int maxTotalLen)
    {
        var rows = AgentRlRows.Read(path);
        return new AgentTaskSet(rows, format, maxPromptLen, maxGenLen, maxTotalLen,
            $"{rows.Count} rows, {rows.Count(r => r.ToolNames.Count > 0)} with tools");
    }

    /// <summary>
    /// The built-in rows (no <c>--data</c>): one question per mock tool's table — weather, time, exchange rates, unit
    /// conversions, translations, arithmetic — with the tool offered in the system message and the table's answer as the
    /// ground truth, generated deterministically (nothing shipped as data). The tiny built-in model will rarely call a
    /// tool; the set exercises the whole step (rollouts, tool turns when they happen, rewards, the loss) on a CPU.
    /// </summary>
    public static AgentTaskSet Builtin(ChatFormat format, int maxPromptLen, int maxGenLen, int maxTotalLen, int count = BuiltinAgentRows.DefaultCount)
    {
        var rows = BuiltinAgentRows.Create(count).Select((json, i) =>
        {
            using var doc = JsonDocument.Parse(json);
            return AgentRlRows.Parse(doc.RootElement, $"built-in agent row {i}");
        }).ToList();
        return new AgentTaskSet(rows, format, maxPromptLen, maxGenLen, maxTotalLen, $"{rows.Count} built-in tool-use rows");
    }

    /// <summary>
    /// The byte tokenizer's agent template: <see cref="ChatTemplate.Builtin"/>'s ChatML plus what agent rows need — the
    /// offered tools' names in the system turn and a tool result as a user turn in <c>&lt;tool_response&gt;</c>, as
    /// MiniMind's template writes it.
    /// </summary>
    public static ChatTemplate BuiltinTemplate { get; } = new(
        "{%- if tools %}\n" +
        "    {{- '<|im_start|>system\\n' }}\n" +
        "    {%- if messages[0].role == 'system' %}{{- messages[0].content + '\\n' }}{%- endif %}\n" +
        "    {{- 'tools:' }}\n" +
        "    {%- for tool in tools %}{{- ' ' + tool.function.name }}{%- endfor %}\n" +
        "    {{- '<|im_end|>\\n' }}\n" +
        "{%- endif %}\n" +
        "{%- for message in messages %}\n" +
        "    {%- if message.role == 'tool' %}\n" +
        "        {{- '<|im_start|>user\\n<tool_response>' + message.content + '</tool_response><|im_end|>\\n' }}\n" +
        "    {%- elif message.role not in ['system', 'user', 'assistant'] %}\n" +
        "        {{- raise_exception('the built-in agent template supports the roles system, user, assistant and tool, not ' + message.role) }}\n" +
        "    {%- elif not (message.role == 'system' and tools) %}\n" +
        "        {{- '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string else '') + '<|im_end|>\\n' }}\n" +
        "    {%- endif %}\n" +
        "{%- endfor %}\n" +
        "{%- if add_generation_prompt %}\n" +
        "    {{- '<|im_start|>assistant\\n' }}\n" +
        "{%- endif %}\n",
        "built-in agent template", "<|im_start|>", "<|im_end|>");
}

using Minimind.Model.Chat;
using Minimind.Model.Chat.Jinja;
using Minimind.Model.Data.Sft;

namespace Minimind.Model.Data.Rl;

/// <summary>One RLAIF prompt's random choices: the system prompt added (index into MiniMind's ten, or −1) and whether thinking is open.</summary>
public readonly record struct RlaifChoices(int SystemPrompt, bool OpenThinking);

/// <summary>
/// MiniMind's RLAIFDataset prompt (dataset/lm_dataset.py <c>create_chat_prompt</c>): the conversation pre-processed
/// as SFT's (a system prompt put before 20 % of the conversations that have none and no tools), its last message
/// (the reference answer) dropped, rendered by the chat template with the generation prompt and
/// <c>open_thinking</c> drawn with probability <c>thinking_ratio</c> (<c>--thinking-ratio</c>, 0.9 for GRPO/PPO, 0.1 for
/// agent RL). MiniMind draws from Python's global RNG on every read; here the draws are a pure function of
/// (seed, sample index), so a resumed run renders exactly the prompts the interrupted one would have.
/// </summary>
public static class RlaifPrompts
{
    /// <summary>The choices for sample <paramref name="index"/>.</summary>
    public static RlaifChoices Choose(ulong seed, long index, double thinkingRatio, double addSystemRatio = 0.2)
    {
        if (thinkingRatio is < 0 or > 1 || double.IsNaN(thinkingRatio))
            throw new ArgumentOutOfRangeException(nameof(thinkingRatio), $"--thinking-ratio {thinkingRatio} is outside [0, 1]");
        var rng = new SplitMix64(seed ^ (0x8CB92BA72F3D8DD7UL * (ulong)(index + 1)));
        bool addSystem = rng.NextDouble() < addSystemRatio;
        int prompt = rng.Next(SftAugmentation.SystemPrompts.Count);
        bool thinking = rng.NextDouble() < thinkingRatio;
        return new RlaifChoices(addSystem ? prompt : -1, thinking);
    }

    /// <summary>The prompt text of <paramref name="conversation"/> under <paramref name="choices"/>.</summary>
    public static string Render(SftConversation conversation, ChatTemplate template, RlaifChoices choices)
    {
        var messages = conversation.Messages;
        if (choices.SystemPrompt >= 0 && !conversation.HasToolsField && (messages.Count == 0 || Role(messages[0]) != "system"))
        {
            var sys = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
            { ["role"] = "system", ["content"] = SftAugmentation.SystemPrompts[choices.SystemPrompt] };
            messages = new List<object?> { sys }.Concat(messages).ToList();
        }
        if (messages.Count < 2) throw new InvalidDataException($"{conversation.Origin}: an RLAIF row needs a prompt and a final reference message");
        var prompt = messages.Take(messages.Count - 1).ToList();
        try
        {
            return template.Render(prompt, null, addGenerationPrompt: true,
                new Dictionary<string, object?> { ["open_thinking"] = choices.OpenThinking });
        }
        catch (JinjaException e) { throw new InvalidDataException($"{conversation.Origin}: {e.Message}", e); }
    }

    /// <summary>
    /// A prompt cut to <paramref name="maxLen"/> tokens as MiniMind cuts it: train_grpo.py keeps the last
    /// <c>max_seq_len</c> (<paramref name="keepEnd"/>, the generation prompt survives); train_ppo.py's tokenizer call
    /// truncates on the right (HF's default side), keeping the first.
    /// </summary>
    public static int[] Truncate(int[] ids, int maxLen, bool keepEnd = true)
    {
        if (maxLen < 1) throw new ArgumentOutOfRangeException(nameof(maxLen), $"--max-seq-len {maxLen} must be positive");
        return ids.Length <= maxLen ? ids : keepEnd ? ids[^maxLen..] : ids[..maxLen];
    }

    private static string? Role(object? m) => ((IDictionary<string, object?>)m!)["role"] as string;
}

namespace Minimind.Model.Data.Sft;

/// <summary>
/// MiniMind's random SFT pre/post-processing (<c>pre_processing_chat</c>, <c>post_processing_chat</c> in
/// <c>dataset/lm_dataset.py</c>) made a pure function of (seed, sample index), so that an interrupted run resumes
/// on exactly the same rows: a system prompt drawn from MiniMind's ten is put before
/// <see cref="AddSystemRatio"/> (20 %) of the conversations that have no system message and no tools, and the empty
/// think block <c>&lt;think&gt;\n\n&lt;/think&gt;\n\n</c> is removed from 1 − <see cref="KeepEmptyThinkRatio"/>
/// (80 %) of the rendered rows. MiniMind draws anew on every read (so every epoch differs); here a sample's
/// choices are the same in every epoch.
/// </summary>
public readonly record struct SftAugmentation(ulong Seed, double AddSystemRatio = 0.2, double KeepEmptyThinkRatio = 0.2)
{
    /// <summary>MiniMind's system prompts (<c>SYSTEM_PROMPTS</c> of <c>pre_processing_chat</c>), in its order.</summary>
    public static readonly IReadOnlyList<string> SystemPrompts = new[]
    {
        "你是一个知识丰富的AI，尽力为用户提供准确的信息。",
        "你是minimind，一个小巧但有用的语言模型。",
        "你是一个专业的AI助手，请提供有价值的回答。",
        "你是minimind，请尽力帮助用户解决问题。",
        "你是一个可靠的AI，请给出准确的回答。",
        "You are a helpful AI assistant.",
        "You are minimind, a lightweight intelligent assistant.",
        "You are a friendly chatbot. Please answer the user's questions carefully.",
        "You are a knowledgeable AI. Try your best to provide accurate information.",
        "You are minimind, a small but useful language model.",
    };

    /// <summary>The empty think block MiniMind's post-processing removes.</summary>
    public const string EmptyThink = "<think>\n\n</think>\n\n";

    /// <summary>The choices for sample <paramref name="index"/>: the system prompt to add (−1 for none) and whether to drop empty think blocks.</summary>
    public SftChoices Choose(long index)
    {
        var rng = new SplitMix64(Seed ^ (0xD1B54A32D192ED03UL * (ulong)(index + 1)));
        bool addSystem = rng.NextDouble() < AddSystemRatio;
        int prompt = rng.Next(SystemPrompts.Count);
        bool drop = rng.NextDouble() > KeepEmptyThinkRatio;
        return new SftChoices(addSystem ? prompt : -1, drop);
    }
}

/// <summary>One sample's augmentation: <see cref="SystemPrompt"/> index into <see cref="SftAugmentation.SystemPrompts"/> or −1; <see cref="DropEmptyThink"/>.</summary>
public readonly record struct SftChoices(int SystemPrompt, bool DropEmptyThink)
{
    /// <summary>No augmentation.</summary>
    public static SftChoices None => new(-1, false);
}

namespace Minimind.Model.Data.Sft;

/// <summary>
/// The conversation set of <c>minimind train --stage sft</c> without <c>--data</c>: short English question/answer
/// exchanges generated deterministically (own <see cref="SplitMix64"/>, nothing shipped as data) from the same
/// small world as <see cref="BuiltinCorpus"/> — sums, counting, letters, colour and animal facts, greetings,
/// identity — some with a system prompt, some two turns long. Every rendering fits in 128 byte-tokenizer tokens
/// with the built-in template, so the tiny built-in model can learn the turn format in a few minutes on a CPU.
/// </summary>
public static class BuiltinConversations
{
    /// <summary>Conversations in the default set.</summary>
    public const int DefaultCount = 2000;
    /// <summary>Seed of the default set.</summary>
    public const ulong Seed = 0x636861747475726E; // "chatturn"

    // The corpus's world: the same number words and facts the pretraining text uses.
    private static readonly string[] Numbers = BuiltinCorpus.Numbers;
    private static readonly (string Q, string A)[] Facts = BuiltinCorpus.Facts;
    private static readonly string[] Greetings = { "Hello!", "Hi!", "Good morning!", "Hello there." };
    private static readonly string[] Systems = { "You are minimind.", "You are a helpful assistant.", "Answer briefly." };

    /// <summary>The conversations, as (role, content) turns.</summary>
    public static IReadOnlyList<SftConversation> Create(int count = DefaultCount, ulong seed = Seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var rng = new SplitMix64(seed);
        var list = new SftConversation[count];
        for (int i = 0; i < count; i++)
        {
            var turns = new List<(string, string)>();
            if (rng.Next(5) == 0) turns.Add(("system", Systems[rng.Next(Systems.Length)]));
            int exchanges = rng.Next(7) == 0 ? 2 : 1;
            for (int e = 0; e < exchanges; e++)
            {
                var (q, a) = Exchange(ref rng);
                // a second exchange only while the byte-tokenized rendering stays within 128 tokens
                if (e > 0 && RenderedBytes(turns) + RenderedBytes(new() { ("user", q), ("assistant", a) }) > MaxRenderedTokens) break;
                turns.Add(("user", q));
                turns.Add(("assistant", a));
            }
            list[i] = SftConversation.FromTurns(turns, $"built-in conversation {i}");
        }
        return list;
    }

    /// <summary>Upper bound of a rendering's byte-tokenizer length (the tiny model's context is 128).</summary>
    public const int MaxRenderedTokens = 127;

    // ChatML with the byte tokenizer's chat variant: bos + role + '\n' + content + eos + '\n' per message.
    private static int RenderedBytes(List<(string Role, string Content)> turns) =>
        turns.Sum(t => 1 + t.Role.Length + 1 + System.Text.Encoding.UTF8.GetByteCount(t.Content) + 2);

    private static (string Q, string A) Exchange(ref SplitMix64 rng)
    {
        switch (rng.Next(6))
        {
            case 0:
            {
                int a = rng.Next(10), b = rng.Next(10);
                return ($"What is {a} + {b}?", $"{a} + {b} = {a + b}.");
            }
            case 1:
            {
                int start = rng.Next(6), len = 3 + rng.Next(4);
                return ($"Count from {Numbers[start]} to {Numbers[start + len - 1]}.", string.Join(", ", Numbers.Skip(start).Take(len)) + ".");
            }
            case 2:
            {
                char c = (char)('a' + rng.Next(25));
                return ($"What letter comes after {c}?", $"{(char)(c + 1)} comes after {c}.");
            }
            case 3: return Facts[rng.Next(Facts.Length)];
            case 4: return (Greetings[rng.Next(Greetings.Length)], "Hello! How can I help you?");
            default: return ("Who are you?", "I am minimind, a small language model.");
        }
    }
}

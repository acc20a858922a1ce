namespace Minimind.Model.Data.Sft;

/// <summary>
/// The preference set of <c>minimind train --stage dpo</c> without <c>--data</c>: one-exchange questions from
/// <see cref="BuiltinConversations"/>' world, chosen = the right answer, rejected = the answer to another
/// question (always a different text), generated deterministically from its own seed; nothing shipped as data.
/// </summary>
public static class BuiltinPreferences
{
    /// <summary>Pairs in the default set.</summary>
    public const int DefaultCount = 1000;
    /// <summary>Seed of the default set.</summary>
    public const ulong Seed = 0x7072656665727321; // "prefers!"

    /// <summary>The (chosen, rejected) conversations.</summary>
    public static IReadOnlyList<(SftConversation Chosen, SftConversation Rejected)> Create(int count = DefaultCount, ulong seed = Seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var rng = new SplitMix64(seed);
        var list = new (SftConversation, SftConversation)[count];
        for (int i = 0; i < count; i++)
        {
            var (q, a) = BuiltinConversations.Exchange(ref rng);
            string wrong;
            do wrong = BuiltinConversations.Exchange(ref rng).A; while (wrong == a);
            string origin = $"built-in preference pair {i}";
            list[i] = (SftConversation.FromTurns(new[] { ("user", q), ("assistant", a) }, origin + " chosen"),
                       SftConversation.FromTurns(new[] { ("user", q), ("assistant", wrong) }, origin + " rejected"));
        }
        return list;
    }
}

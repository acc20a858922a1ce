using Minimind.Model.Data.Sft;

namespace Minimind.Model.Data.Rl;

/// <summary>The kind of a built-in verifiable task.</summary>
public enum BuiltinTaskKind
{
    /// <summary>"What is a + b?" — the answer's number after '=' must be the sum.</summary>
    Sum,
    /// <summary>"What letter comes after c?" — the answer must start with the next letter.</summary>
    NextLetter,
    /// <summary>"Count from x to y." — the answer must list the number words from x to y.</summary>
    Count,
}

/// <summary>One built-in RL prompt with what its answer must say.</summary>
/// <param name="Conversation">The user question and the reference answer (the last message, dropped from the prompt as RLAIF rows).</param>
/// <param name="Kind">What is checked.</param>
/// <param name="Expected">The exact text the answer must contain in its checked place (the sum, the letter, the list).</param>
public sealed record BuiltinRlTask(SftConversation Conversation, BuiltinTaskKind Kind, string Expected)
{
    /// <summary>
    /// The verifiable reward of a completion: 1 when the checked part is right — the first number after "=" equals the
    /// sum, the first non-space character is the next letter, the list before the first '.' is the expected one — else 0.
    /// Exact-format checks keep the rule unambiguous; the SFT set teaches the same formats.
    /// </summary>
    public double Score(string completion)
    {
        string s = completion.Trim();
        switch (Kind)
        {
            case BuiltinTaskKind.Sum:
            {
                int eq = s.IndexOf('=');
                if (eq < 0) return 0;
                int i = eq + 1;
                while (i < s.Length && s[i] == ' ') i++;
                int j = i;
                while (j < s.Length && char.IsAsciiDigit(s[j])) j++;
                return j > i && s[i..j] == Expected ? 1 : 0;
            }
            case BuiltinTaskKind.NextLetter:
                return s.Length > 0 && s[0].ToString() == Expected ? 1 : 0;
            default:
            {
                int dot = s.IndexOf('.');
                return (dot < 0 ? s : s[..dot]) == Expected ? 1 : 0;
            }
        }
    }
}

/// <summary>
/// The prompt set of <c>minimind train --stage grpo</c> without <c>--data</c>: questions from the built-in SFT set's
/// world (<see cref="BuiltinConversations"/>) whose answers a rule can check — single-digit sums, the next letter,
/// counting in words — so the tiny built-in model trained by <c>train</c> then <c>--stage sft</c> has a reward it can
/// raise. Generated deterministically (own <see cref="SplitMix64"/>), nothing shipped as data.
/// </summary>
public static class BuiltinRlTasks
{
    /// <summary>Tasks in the default set.</summary>
    public const int DefaultCount = 512;
    /// <summary>Seed of the default set.</summary>
    public const ulong Seed = 0x7665726966696564; // "verified"

    /// <summary>The tasks.</summary>
    public static IReadOnlyList<BuiltinRlTask> Create(int count = DefaultCount, ulong seed = Seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var rng = new SplitMix64(seed);
        var tasks = new BuiltinRlTask[count];
        for (int i = 0; i < count; i++)
        {
            string q, a, expected;
            BuiltinTaskKind kind;
            switch (rng.Next(3))
            {
                case 0:
                {
                    int x = rng.Next(10), y = rng.Next(10);
                    (q, a, expected, kind) = ($"What is {x} + {y}?", $"{x} + {y} = {x + y}.", (x + y).ToString(System.Globalization.CultureInfo.InvariantCulture), BuiltinTaskKind.Sum);
                    break;
                }
                case 1:
                {
                    char c = (char)('a' + rng.Next(25));
                    (q, a, expected, kind) = ($"What letter comes after {c}?", $"{(char)(c + 1)} comes after {c}.", ((char)(c + 1)).ToString(), BuiltinTaskKind.NextLetter);
                    break;
                }
                default:
                {
                    int start = rng.Next(6), len = 3 + rng.Next(4);
                    string list = string.Join(", ", BuiltinCorpus.Numbers.Skip(start).Take(len));
                    (q, a, expected, kind) = ($"Count from {BuiltinCorpus.Numbers[start]} to {BuiltinCorpus.Numbers[start + len - 1]}.", list + ".", list, BuiltinTaskKind.Count);
                    break;
                }
            }
            tasks[i] = new BuiltinRlTask(SftConversation.FromTurns(new[] { ("user", q), ("assistant", a) }, $"built-in RL task {i}"), kind, expected);
        }
        return tasks;
    }
}

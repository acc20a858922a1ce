using System.Text;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Data;

/// <summary>
/// The corpus of the default <c>minimind train</c> run (no <c>--data</c>): short English documents generated
/// deterministically from a small grammar — descriptive sentences, counting, single-digit sums, the alphabet,
/// question/answer facts. Its regularities (a small word set, fixed templates, arithmetic that is always right)
/// let a tiny model's loss fall quickly from the uniform ln(vocab). Nothing is shipped as data: the same seed
/// gives the same text on every machine (own SplitMix64, no System.Random).
/// </summary>
public static class BuiltinCorpus
{
    /// <summary>Documents in the default training split (≈ 300 KB of text).</summary>
    public const int DefaultDocuments = 1500;
    /// <summary>Seed of the training split.</summary>
    public const ulong TrainSeed = 0x6D696E696D696E64; // "minimind"
    /// <summary>Seed of the validation split (disjoint random stream).</summary>
    public const ulong ValidationSeed = 0x76616C6964617465; // "validate"

    private static readonly string[] Adjectives = { "small", "big", "red", "blue", "green", "old", "young", "happy", "quiet", "fast", "slow", "bright" };
    private static readonly string[] Nouns = { "cat", "dog", "bird", "fish", "child", "teacher", "farmer", "robot", "tree", "river", "house", "ball", "book", "garden" };
    private static readonly string[] Verbs = { "sees", "likes", "finds", "watches", "follows", "helps", "carries", "draws" };
    private static readonly string[] Places = { "in the garden", "by the river", "at home", "under the tree", "near the house", "on the hill", "in the morning", "at night" };
    internal static readonly string[] Numbers = { "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve" };
    internal static readonly (string Q, string A)[] Facts =
    {
        ("What color is the sky?", "The sky is blue."),
        ("What color is the grass?", "The grass is green."),
        ("How many legs does a cat have?", "A cat has four legs."),
        ("How many legs does a bird have?", "A bird has two legs."),
        ("Where does a fish live?", "A fish lives in the water."),
        ("What does a farmer grow?", "A farmer grows food."),
        ("When does the sun rise?", "The sun rises in the morning."),
        ("What do we read?", "We read a book."),
    };

    /// <summary>The training documents.</summary>
    public static IReadOnlyList<string> Documents(int count = DefaultDocuments, ulong seed = TrainSeed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var rng = new SplitMix64(seed);
        var docs = new string[count];
        var sb = new StringBuilder();
        for (int d = 0; d < count; d++)
        {
            sb.Clear();
            int sentences = 2 + rng.Next(5);
            for (int s = 0; s < sentences; s++)
            {
                if (s > 0) sb.Append(' ');
                AppendSentence(sb, ref rng);
            }
            docs[d] = sb.ToString();
        }
        return docs;
    }

    /// <summary>Training samples of the corpus for <paramref name="tokenizer"/>.</summary>
    public static InMemoryPretrainSource CreateSource(ITokenizer tokenizer, int maxSeqLen, int count = DefaultDocuments) =>
        InMemoryPretrainSource.FromTexts(tokenizer, Documents(count, TrainSeed), maxSeqLen);

    /// <summary>Held-out samples (a different random stream of the same grammar).</summary>
    public static InMemoryPretrainSource CreateValidationSource(ITokenizer tokenizer, int maxSeqLen, int count = 100) =>
        InMemoryPretrainSource.FromTexts(tokenizer, Documents(count, ValidationSeed), maxSeqLen);

    private static void AppendSentence(StringBuilder sb, ref SplitMix64 rng)
    {
        switch (rng.Next(6))
        {
            case 0:
            case 1: // The small cat sees a red ball in the garden.
                sb.Append(rng.Next(2) == 0 ? "The " : "A ").Append(Pick(Adjectives, ref rng)).Append(' ').Append(Pick(Nouns, ref rng))
                  .Append(' ').Append(Pick(Verbs, ref rng)).Append(rng.Next(2) == 0 ? " the " : " a ").Append(Pick(Adjectives, ref rng))
                  .Append(' ').Append(Pick(Nouns, ref rng)).Append(' ').Append(Pick(Places, ref rng)).Append('.');
                break;
            case 2: // Counting: four, five, six, seven.
            {
                int start = rng.Next(6), len = 3 + rng.Next(5);
                sb.Append("Counting: ");
                for (int i = 0; i < len; i++) sb.Append(i > 0 ? ", " : "").Append(Numbers[start + i]);
                sb.Append('.');
                break;
            }
            case 3: // 3 + 4 = 7.
            {
                int a = rng.Next(10), b = rng.Next(10);
                sb.Append(a).Append(" + ").Append(b).Append(" = ").Append(a + b).Append('.');
                break;
            }
            case 4: // Letters: d e f g h.
            {
                int start = rng.Next(20), len = 4 + rng.Next(6);
                sb.Append("Letters:");
                for (int i = 0; i < len && start + i < 26; i++) sb.Append(' ').Append((char)('a' + start + i));
                sb.Append('.');
                break;
            }
            default:
            {
                var (q, a) = Facts[rng.Next(Facts.Length)];
                sb.Append("Q: ").Append(q).Append(" A: ").Append(a);
                break;
            }
        }
    }

    private static string Pick(string[] options, ref SplitMix64 rng) => options[rng.Next(options.Length)];
}

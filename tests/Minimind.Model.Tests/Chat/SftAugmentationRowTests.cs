using Minimind.Model.Chat;
using Minimind.Model.Data.Sft;
using Minimind.Model.Tokenizer;

namespace Minimind.Model.Tests.Chat;

/// <summary>
/// MiniMind's two random augmentations on real rows (lm_dataset.py: <c>pre_processing_chat</c> adds one of its ten system
/// prompts before a conversation when <c>random() &lt; add_system_ratio</c>, never when the first message is a system
/// message or any message has tools; <c>post_processing_chat</c> removes every empty think block when
/// <c>random() &gt; empty_think_ratio</c>), checked against hand-derived expectations: the binomial counts within five
/// standard deviations, the exact rendering of an added prompt, no draw for ineligible rows, and the neutral and extreme ratios.
/// </summary>
public sealed class SftAugmentationRowTests
{
    private static readonly ChatFormat Byte = ChatFormat.Load("byte");
    private const string Think = "<think>\n\n</think>\n\n";
    private const int Plain = 3000, WithSystem = 500, WithTools = 500;

    // Plain conversations first, then ones opening with a system message, then ones whose user message has tools; every reply holds an empty think block.
    private static List<SftConversation> Conversations()
    {
        var list = new List<SftConversation>();
        for (int i = 0; i < Plain; i++)
            list.Add(SftConversation.FromTurns(new[] { ("user", $"q{i}"), ("assistant", Think + $"a{i}") }, $"plain {i}"));
        for (int i = 0; i < WithSystem; i++)
            list.Add(SftConversation.FromTurns(new[] { ("system", "own"), ("user", $"q{i}"), ("assistant", Think + $"a{i}") }, $"system {i}"));
        for (int i = 0; i < WithTools; i++)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(
                $$"""[{"role": "user", "content": "q{{i}}", "tools": "[{\"name\": \"f\"}]"}, {"role": "assistant", "content": "{{Think}}a{{i}}"}]""".Replace("\n", "\\n"));
            list.Add(SftConversation.Parse(doc.RootElement, $"tools {i}"));
        }
        return list;
    }

    private static List<string> Rendered(double addSystem, double keepThink, ulong seed = 42)
    {
        var src = SftSource.FromConversations("test", Conversations(), Byte,
            new SftOptions { MaxSeqLen = 256, Augmentation = new SftAugmentation(seed, addSystem, keepThink) });
        var tok = (ByteTokenizer)Byte.Tokenizer;
        var x = new int[src.SeqLen];
        var y = new int[src.SeqLen];
        var rows = new List<string>();
        for (int i = 0; i < src.Count; i++)
        {
            src.Fill(i, x, y);
            rows.Add(tok.Decode(x.Where(t => t != tok.PadId).ToArray()));
        }
        return rows;
    }

    private static void WithinFiveSigma(int observed, int n, double p, string what)
    {
        double mean = n * p, sigma = Math.Sqrt(n * p * (1 - p));
        Assert.True(Math.Abs(observed - mean) <= 5 * sigma, $"{what}: {observed} of {n}, expected {mean:F0} ± {5 * sigma:F0} (5σ)");
    }

    [Fact]
    public void Rates_and_eligibility_follow_minimind()
    {
        const double addSystem = 0.3, keepThink = 0.6;
        var rows = Rendered(addSystem, keepThink);
        Assert.Equal(Plain + WithSystem + WithTools, rows.Count);
        var plain = rows.Take(Plain).ToList();
        var added = plain.Where(r => r.StartsWith("<|im_start|>system\n", StringComparison.Ordinal)).ToList();
        WithinFiveSigma(added.Count, Plain, addSystem, "plain conversations given a system prompt");
        // The prompt goes first, is one of MiniMind's ten, and every one of them is drawn.
        var used = new HashSet<int>();
        foreach (var r in added)
        {
            int k = SftAugmentation.SystemPrompts.ToList().FindIndex(p => r.StartsWith($"<|im_start|>system\n{p}<|im_end|>\n<|im_start|>user\nq", StringComparison.Ordinal));
            Assert.True(k >= 0, "not one of MiniMind's system prompts: " + r[..Math.Min(80, r.Length)]);
            used.Add(k);
        }
        Assert.Equal(10, used.Count);
        // A conversation opening with a system message, or with tools, never gets one.
        Assert.All(rows.Skip(Plain).Take(WithSystem), r => Assert.StartsWith("<|im_start|>system\nown<|im_end|>\n<|im_start|>user\n", r));
        Assert.All(rows.Skip(Plain + WithSystem), r => Assert.StartsWith("<|im_start|>user\n", r));
        // Every row holds an empty think block: it is removed from 1 − empty_think_ratio of them, whatever the row's kind.
        int removed = rows.Count(r => !r.Contains(Think, StringComparison.Ordinal));
        WithinFiveSigma(removed, rows.Count, 1 - keepThink, "rows whose empty think block was removed");
        Assert.All(rows.Where(r => !r.Contains(Think, StringComparison.Ordinal)), r => Assert.Contains("<|im_start|>assistant\na", r));
    }

    [Fact]
    public void Neutral_and_extreme_ratios_are_exact()
    {
        var neutral = Rendered(0, 1);
        Assert.DoesNotContain(neutral.Take(Plain), r => r.StartsWith("<|im_start|>system", StringComparison.Ordinal));
        Assert.All(neutral, r => Assert.Contains(Think, r));
        var all = Rendered(1, 0);
        Assert.All(all.Take(Plain), r => Assert.StartsWith("<|im_start|>system\n", r));
        Assert.All(all.Skip(Plain + WithSystem), r => Assert.StartsWith("<|im_start|>user\n", r));
        Assert.All(all, r => Assert.DoesNotContain(Think, r));
    }

    [Fact]
    public void The_draws_are_a_function_of_seed_and_row()
    {
        Assert.Equal(Rendered(0.3, 0.6), Rendered(0.3, 0.6));
        Assert.NotEqual(Rendered(0.3, 0.6, seed: 42), Rendered(0.3, 0.6, seed: 7));
    }
}

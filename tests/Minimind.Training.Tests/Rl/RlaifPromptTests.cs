using System.Text.Json;
using Minimind.Model.Chat;
using Minimind.Model.Data.Rl;
using Minimind.Model.Data.Sft;
using Minimind.Tests;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// RLAIF prompts against MiniMind's RLAIFDataset.create_chat_prompt run with its random draws replayed
/// (tests/fixtures/rl/rlaif.json) on MiniMind's v3 chat template; the draws themselves are a pure function of
/// (seed, index) with the configured ratios.
/// </summary>
public class RlaifPromptTests
{
    [SkippableFact]
    public void PromptsEqualRlaifDatasets()
    {
        string? v3 = TestEnvironment.FindUp(Path.Combine("shared", "minimind", "v3"));
        Skip.If(v3 is null, "MiniMind's v3 tokenizer folder (shared/minimind/v3) is not above the test binary");
        var template = ChatTemplate.FromTokenizerConfig(v3!);
        using var doc = RlFixtures.Load("rlaif.json");
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().Select((r, i) => SftConversation.Parse(r, $"row {i}")).ToArray();
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var choices = new RlaifChoices(c.GetProperty("system_prompt").GetInt32(), c.GetProperty("open_thinking").GetBoolean());
            Assert.Equal(c.GetProperty("prompt").GetString(), RlaifPrompts.Render(rows[c.GetProperty("row").GetInt32()], template, choices));
            n++;
        }
        Assert.Equal(30, n);
    }

    [Fact]
    public void DrawsArePerIndexAndFollowTheRatios()
    {
        Assert.Equal(RlaifPrompts.Choose(7, 123, 0.9), RlaifPrompts.Choose(7, 123, 0.9));
        var draws = Enumerable.Range(0, 20000).Select(i => RlaifPrompts.Choose(7, i, 0.9)).ToArray();
        double thinking = draws.Count(d => d.OpenThinking) / 20000.0, system = draws.Count(d => d.SystemPrompt >= 0) / 20000.0;
        Assert.InRange(thinking, 0.89, 0.91);
        Assert.InRange(system, 0.19, 0.21);
        Assert.Equal(10, draws.Where(d => d.SystemPrompt >= 0).Select(d => d.SystemPrompt).Distinct().Count());
        Assert.NotEqual(draws.Select(d => d.OpenThinking), Enumerable.Range(0, 20000).Select(i => RlaifPrompts.Choose(8, i, 0.9).OpenThinking));
        Assert.Equal(new[] { 4, 5 }, RlaifPrompts.Truncate(new[] { 1, 2, 3, 4, 5 }, 2));
        Assert.Equal(new[] { 1, 2 }, RlaifPrompts.Truncate(new[] { 1, 2, 3, 4, 5 }, 2, keepEnd: false));
    }
}

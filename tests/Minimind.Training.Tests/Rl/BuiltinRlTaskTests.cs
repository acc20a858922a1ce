using Minimind.Model.Chat;
using Minimind.Model.Data.Rl;

namespace Minimind.Training.Tests.Rl;

/// <summary>The built-in verifiable tasks: the reference answers score 1, wrong or reformatted ones 0 (hand-derived), the set is fixed by its seed and fits the tiny model's context.</summary>
public class BuiltinRlTaskTests
{
    [Fact]
    public void ReferenceAnswersScoreOneAndWrongOnesZero()
    {
        var tasks = BuiltinRlTasks.Create();
        Assert.Equal(BuiltinRlTasks.DefaultCount, tasks.Count);
        foreach (var kind in Enum.GetValues<BuiltinTaskKind>()) Assert.True(tasks.Count(t => t.Kind == kind) > 100);
        foreach (var t in tasks)
        {
            var answer = (string)((IDictionary<string, object?>)t.Conversation.Messages[^1]!)["content"]!;
            Assert.Equal(1.0, t.Score(answer));
            Assert.Equal(1.0, t.Score(" " + answer + "\n"));
            Assert.Equal(0.0, t.Score(""));
        }
        var sum = tasks.First(t => t.Kind == BuiltinTaskKind.Sum && t.Expected == "9");
        Assert.Equal(0.0, sum.Score("4 + 5 = 8."));
        Assert.Equal(0.0, sum.Score("4 + 5 = 90."));
        Assert.Equal(1.0, sum.Score("= 9 and more"));
        var count = tasks.First(t => t.Kind == BuiltinTaskKind.Count);
        Assert.Equal(0.0, count.Score(count.Expected + ", twelve."));
        var letter = tasks.First(t => t.Kind == BuiltinTaskKind.NextLetter);
        Assert.Equal(0.0, letter.Score(letter.Expected == "z" ? "y comes after x." : "z comes after y."));
    }

    [Fact]
    public void SetIsSeededAndFitsTheBuiltinContext()
    {
        var a = BuiltinRlTasks.Create(64);
        var b = BuiltinRlTasks.Create(64);
        Assert.Equal(a.Select(t => t.Expected), b.Select(t => t.Expected));
        Assert.NotEqual(a.Select(t => t.Expected), BuiltinRlTasks.Create(64, seed: 1).Select(t => t.Expected));
        var format = ChatFormat.Load("byte");
        foreach (var t in BuiltinRlTasks.Create())
        {
            string prompt = RlaifPrompts.Render(t.Conversation, format.Template, new RlaifChoices(-1, false));
            Assert.EndsWith("<|im_start|>assistant\n", prompt);
            Assert.True(format.Tokenizer.Encode(prompt).Length + 40 <= 128, $"{prompt} leaves no room for an answer in 128 tokens");
        }
    }
}

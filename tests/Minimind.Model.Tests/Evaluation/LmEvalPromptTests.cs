using System.Text.Json;
using Minimind.Model.Evaluation;

namespace Minimind.Model.Tests.Evaluation;

/// <summary>
/// Our readers and prompt assembly against lm-evaluation-harness's own task code (prompts.json, rendered by
/// tools/eval/make_fixtures.py with lm_eval.api.task.ConfigurableTask, the tasks' YAMLs and Jinja templates, its
/// samplers seeded as set_fewshot_seed does): every prompt, continuation, choice and gold index, character for character,
/// for the generic rows, HellaSwag, C-Eval and CMMLU, zero- and few-shot (both of Python's sample algorithms).
/// </summary>
public sealed class LmEvalPromptTests
{
    public static IEnumerable<object[]> Cases() => EvalFixtures.CaseNames();

    [Theory, MemberData(nameof(Cases))]
    public void Prompts_EqualLmEvalsTemplates(string name)
    {
        var c = EvalFixtures.Get(name);
        var ours = EvalFixtures.Render(c);
        Assert.Equal(c.Items.Length, ours.Count);
        for (int i = 0; i < ours.Count; i++)
        {
            var (want, got) = (c.Items[i], ours[i]);
            string where = $"{name} item {i} ({want.Group} doc {want.DocId})";
            Assert.True(want.Context == got.Context, $"{where}: context\n lm-eval: {JsonSerializer.Serialize(want.Context)}\n ours:    {JsonSerializer.Serialize(got.Context)}");
            Assert.Equal(want.Continuations, Enumerable.Range(0, got.Choices.Count).Select(got.Continuation).ToArray());
            Assert.Equal(want.Choices, got.Choices.ToArray());
            Assert.Equal(want.Gold, got.Label);
            Assert.Equal(want.DocId, got.Index);
            Assert.Equal(want.Group, got.Group);
        }
    }

    [Theory]
    [InlineData("ceval")]
    [InlineData("cmmlu")]
    public void EverySubjectsDescription_IsItsYamls(string bench)
    {
        var b = bench == "ceval" ? ExamBenchmark.CEval : ExamBenchmark.Cmmlu;
        var yaml = EvalFixtures.Descriptions(bench);
        Assert.Equal(yaml.Keys.OrderBy(k => k, StringComparer.Ordinal), b.Subjects.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (subject, description) in yaml) Assert.Equal(description, b.Description(subject));
    }

    [Fact]
    public void FewShotDraws_DependOnTheSeed_AndTheFirstNItemsAreLimitsItems()
    {
        var c = EvalFixtures.Get("hellaswag_2shot");
        var all = EvalFixtures.Render(c);
        var task = McTasks.Open("hellaswag", EvalFixtures.Arg(c.Args, "--data")!, EvalFixtures.Arg(c.Args, "--fewshot-data"), null)[0];
        Assert.Equal(all.Take(3).Select(i => i.Context), FewShotPrompts.Build(task, 2, limit: 3).Select(i => i.Context));
        Assert.NotEqual(all.Select(i => i.Context), FewShotPrompts.Build(task, 2, seed: 7).Select(i => i.Context));
    }

    [Fact]
    public void UnknownSubject_WithoutDescription_IsRefused_NamingTheFlag()
    {
        var dir = ModelTestPaths.TempDir();
        try
        {
            var csv = Path.Combine(dir, "my_subject_val.csv");
            File.WriteAllText(csv, "id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n");
            var e = Assert.Throws<InvalidDataException>(() => McTasks.Open("ceval", csv, null, null));
            Assert.Contains("unknown subject 'my_subject'", e.Message);
            Assert.Contains("--description", e.Message);
            var t = McTasks.Open("ceval", csv, null, "Answer:\n\n")[0];
            Assert.StartsWith("Answer:\n\nq\nA. a", FewShotPrompts.Build(t, 0).Single().Context);
            // and few-shot without a dev file says where it looked
            var e2 = Assert.Throws<InvalidDataException>(() => FewShotPrompts.Build(t, 1).ToList());
            Assert.Contains("my_subject_dev.csv", e2.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

using System.Text.Json;
using Minimind.Model.Evaluation;
using Minimind.Tests;

namespace Minimind.Model.Tests.Evaluation;

/// <summary>
/// tests/fixtures/eval, written by tools/eval/make_fixtures.py: seeded sample sets in the benchmarks' layouts (data/),
/// the requests lm-evaluation-harness's own task code renders for them (prompts.json) and its request tokenization
/// with MiniMind's v3 tokenizer through HuggingFace tokenizers (tokens_v3.json).
/// </summary>
internal static class EvalFixtures
{
    public static string Dir { get; } = TestEnvironment.Fixtures("eval");

    private static readonly Lazy<JsonElement> _prompts = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "prompts.json"))).RootElement);
    private static readonly Lazy<JsonElement> _tokens = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "tokens_v3.json"))).RootElement);

    /// <summary>Every case name, for theories.</summary>
    public static IEnumerable<object[]> CaseNames() => _prompts.Value.GetProperty("cases").EnumerateObject().Select(p => new object[] { p.Name });

    /// <summary>The description lm-eval's YAML gives each subject of <paramref name="bench"/>.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions(string bench) =>
        _prompts.Value.GetProperty("descriptions").GetProperty(bench).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    /// <summary>One case: the CLI arguments that ask for it (data paths resolved) and lm-eval's items.</summary>
    public static Case Get(string name)
    {
        var c = _prompts.Value.GetProperty("cases").GetProperty(name);
        var args = c.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToArray();
        for (int i = 0; i < args.Length - 1; i++)
            if (args[i] is "--data" or "--fewshot-data") args[i + 1] = Path.Combine(Dir, args[i + 1]);
        var items = c.GetProperty("items").EnumerateArray().Select(it => new LmEvalItem(
            it.GetProperty("doc_id").GetInt32(), it.GetProperty("group").GetString()!, it.GetProperty("context").GetString()!,
            Strings(it.GetProperty("continuations")), Strings(it.GetProperty("choices")), it.GetProperty("gold").GetInt32())).ToArray();
        return new Case(name, args, items);
    }

    /// <summary>lm-eval's (context ids, continuation ids) of every choice of every item of a case.</summary>
    public static (int[] Context, int[] Continuation)[][] Tokens(string name, bool addBos) =>
        _tokens.Value.GetProperty(addBos ? "add_bos" : "no_bos").GetProperty(name).EnumerateArray().Select(it =>
        {
            var conts = it.GetProperty("continuations").EnumerateArray().Select(Ids).ToArray();
            var ctxs = it.TryGetProperty("context", out var one) ? conts.Select(_ => Ids(one)).ToArray()
                : it.GetProperty("contexts").EnumerateArray().Select(Ids).ToArray();
            return ctxs.Zip(conts).Select(p => (p.First, p.Second)).ToArray();
        }).ToArray();

    private static int[] Ids(JsonElement a) => a.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static string[] Strings(JsonElement a) => a.EnumerateArray().Select(x => x.GetString()!).ToArray();

    /// <summary>The value after <paramref name="flag"/> in <paramref name="args"/>, or null.</summary>
    public static string? Arg(string[] args, string flag) => Array.IndexOf(args, flag) is int i and >= 0 ? args[i + 1] : null;

    /// <summary>Our items for a case: the same readers and renderer the CLI uses, with the case's arguments.</summary>
    public static List<McItem> Render(Case c)
    {
        var a = c.Args;
        var tasks = McTasks.Open(Arg(a, "--task")!, Arg(a, "--data")!, Arg(a, "--fewshot-data"), Arg(a, "--description"));
        int k = int.Parse(Arg(a, "--num-fewshot") ?? "0");
        string delim = Arg(a, "--target-delimiter") ?? FewShotPrompts.DefaultTargetDelimiter;
        int seed = int.Parse(Arg(a, "--fewshot-seed") ?? "1234");
        int? limit = Arg(a, "--limit") is string l ? int.Parse(l) : null;
        return tasks.SelectMany(t => FewShotPrompts.Build(t, k, delim, seed, limit)).ToList();
    }

    public sealed record Case(string Name, string[] Args, LmEvalItem[] Items);

    public sealed record LmEvalItem(int DocId, string Group, string Context, string[] Continuations, string[] Choices, int Gold);
}

using System.Text;

namespace Minimind.Model.Evaluation;

/// <summary>
/// Renders a task's documents into scored items as lm-evaluation-harness's <c>ConfigurableTask.fewshot_context</c>
/// does for plain text (no chat template): the description, then each example as
/// <c>text + target_delimiter + its correct choice + fewshot_delimiter</c>, then the document's text; the
/// continuations are <c>target_delimiter + choice</c>. The examples of the random sampler come from one
/// <see cref="PythonRandom"/> seeded once per task and drawn document after document, so the first N items are
/// those lm-eval renders with <c>--limit N</c> and the same <c>fewshot_random_seed</c> (1234 by default).
/// </summary>
public static class FewShotPrompts
{
    /// <summary>lm-eval's default <c>fewshot_delimiter</c>.</summary>
    public const string FewShotDelimiter = "\n\n";
    /// <summary>lm-eval's default <c>target_delimiter</c>.</summary>
    public const string DefaultTargetDelimiter = " ";
    /// <summary>lm-eval's default <c>fewshot_random_seed</c>.</summary>
    public const int DefaultSeed = 1234;

    /// <summary>The items of the first <paramref name="limit"/> documents (all when null) with <paramref name="numFewShot"/> examples each.</summary>
    public static IEnumerable<McItem> Build(McTask task, int numFewShot, string targetDelimiter = DefaultTargetDelimiter, long seed = DefaultSeed, int? limit = null)
    {
        if (numFewShot < 0) throw new ArgumentOutOfRangeException(nameof(numFewShot), "--num-fewshot must be at least 0");
        if (numFewShot > 0 && task.FewShotDocs is null)
            throw new InvalidDataException($"{task.Name}: --num-fewshot {numFewShot} needs few-shot examples, and {task.FewShotSource} was not found or not given");
        var rnd = new PythonRandom(seed);
        int count = limit is int l ? Math.Min(l, task.Docs.Count) : task.Docs.Count;
        for (int i = 0; i < count; i++)
        {
            var doc = task.Docs[i];
            var sb = new StringBuilder(task.Description);
            if (numFewShot > 0)
                foreach (var shot in Shots(task, doc, numFewShot, rnd))
                    sb.Append(shot.Text).Append(targetDelimiter).Append(shot.Choices[shot.Label]).Append(FewShotDelimiter);
            sb.Append(doc.Text);
            yield return new McItem(i, task.Name, sb.ToString(), doc.Choices, doc.Label, targetDelimiter);
        }
    }

    // ContextSampler.sample / FirstNSampler.sample with rm_eval_doc.
    private static IReadOnlyList<McDoc> Shots(McTask task, McDoc doc, int k, PythonRandom rnd)
    {
        var pool = task.FewShotDocs!;
        if (task.Sampling == FewShotSampling.FirstN)
        {
            var kept = task.ExcludeEvalDoc ? pool.Where(d => d.Key != doc.Key).ToList() : pool;
            if (k > kept.Count)
                throw new InvalidDataException($"{task.Name}: --num-fewshot {k} asks for more examples than the {kept.Count} in {task.FewShotSource}");
            return kept.Take(k).ToList();
        }
        int draw = task.ExcludeEvalDoc ? k + 1 : k;
        if (draw > pool.Count)
            throw new InvalidDataException($"{task.Name}: --num-fewshot {k} draws {draw} examples, {task.FewShotSource} has {pool.Count}");
        var picked = rnd.Sample(pool.Count, draw).Select(j => pool[j]);
        var shots = (task.ExcludeEvalDoc ? picked.Where(d => d.Key != doc.Key) : picked).Take(k).ToList();
        if (shots.Count != k)
            throw new InvalidDataException($"{task.Name}: document {doc.Text[..Math.Min(40, doc.Text.Length)]}... appears more than once among its examples in {task.FewShotSource}");
        return shots;
    }
}

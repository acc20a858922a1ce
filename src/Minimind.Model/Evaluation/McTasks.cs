namespace Minimind.Model.Evaluation;

/// <summary>The multiple-choice tasks by name, opened from local files.</summary>
public static class McTasks
{
    /// <summary>The names <see cref="Open"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "mc", "hellaswag", "ceval", "cmmlu" };

    /// <summary>
    /// The tasks of <paramref name="name"/> over <paramref name="data"/> (one, or one per C-Eval/CMMLU subject), with their
    /// few-shot source; <paramref name="description"/>, when given, replaces every task's description.
    /// </summary>
    public static IReadOnlyList<McTask> Open(string name, string data, string? fewShotData, string? description)
    {
        IReadOnlyList<McTask> tasks = name switch
        {
            "mc" => new[] { GenericMcTask.Open(data, fewShotData) },
            "hellaswag" => new[] { HellaSwagTask.Open(data, fewShotData) },
            "ceval" => ExamBenchmark.CEval.Open(data, fewShotData, description),
            "cmmlu" => ExamBenchmark.Cmmlu.Open(data, fewShotData, description),
            _ => throw new ArgumentException($"unknown multiple-choice task '{name}'; expected one of: {string.Join(", ", Names)}"),
        };
        return description is null ? tasks : tasks.Select(t => t with { Description = description }).ToList();
    }
}

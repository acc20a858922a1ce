using System.Text.RegularExpressions;

namespace Minimind.Model.Evaluation;

/// <summary>
/// HellaSwag as lm-evaluation-harness runs it (lm_eval/tasks/hellaswag): the benchmark's own jsonl rows
/// (<c>activity_label, ctx_a, ctx_b, endings, label</c>, as in hellaswag_val.jsonl or HuggingFace's copy), the query
/// <c>preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())</c> and each ending preprocessed (strip,
/// " [title]" → ". ", every "[...]" removed, double spaces halved once), no description; few-shot examples from the
/// train file by the random sampler, the evaluated row dropped from its own draw.
/// </summary>
public static partial class HellaSwagTask
{
    /// <summary>The task over <paramref name="path"/> (the validation split); examples from <paramref name="trainPath"/> when given.</summary>
    public static McTask Open(string path, string? trainPath) =>
        new("hellaswag", "", ReadDocs(path), trainPath is null ? null : ReadDocs(trainPath), FewShotSampling.Random,
            trainPath ?? "--fewshot-data (HellaSwag's train split, not given)", ExcludeEvalDoc: true);

    /// <summary>The documents of one jsonl file.</summary>
    public static IReadOnlyList<McDoc> ReadDocs(string path)
    {
        var docs = new List<McDoc>();
        foreach (var (line, row) in JsonlRows.Read(path))
        {
            string activity = JsonlRows.String(path, line, row, "activity_label");
            string ctxA = JsonlRows.String(path, line, row, "ctx_a"), ctxB = JsonlRows.String(path, line, row, "ctx_b");
            var endings = JsonlRows.Strings(path, line, row, "endings");
            if (!row.TryGetProperty("label", out var lv) || lv.ValueKind == System.Text.Json.JsonValueKind.String && lv.GetString() == "")
                throw new InvalidDataException($"{path}:{line}: no \"label\" (HellaSwag's test split is unlabelled; score the validation split)");
            int label = JsonlRows.Int(path, line, row, "label");
            if (label < 0 || label >= endings.Length) throw new InvalidDataException($"{path}:{line}: \"label\" {label} is not an index into the {endings.Length} endings");
            string query = Preprocess(activity + ": " + ctxA + " " + PyText.Capitalize(ctxB));
            docs.Add(new McDoc(query, endings.Select(Preprocess).ToArray(), label, CanonicalJson.Of(row)));
        }
        if (docs.Count == 0) throw new InvalidDataException($"{path}: no rows");
        return docs;
    }

    /// <summary>lm-eval's hellaswag <c>preprocess</c>.</summary>
    public static string Preprocess(string text)
    {
        text = PyText.Strip(text).Replace(" [title]", ". ", StringComparison.Ordinal);
        text = Bracketed().Replace(text, "");
        return text.Replace("  ", " ", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\[.*?\]")]
    private static partial Regex Bracketed();
}

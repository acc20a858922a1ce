namespace Minimind.Model.Evaluation;

/// <summary>
/// The generic multiple-choice format, <c>{"context": str, "choices": [str, ...], "label": int}</c> per jsonl line, as an
/// lm-eval task YAML with every default would run it (doc_to_text: context, doc_to_choice: choices,
/// doc_to_target: label, no description): the continuation is <c>target_delimiter + choice</c>, few-shot examples are
/// drawn by the random sampler from the few-shot file, and the evaluated row is dropped from its own examples when the
/// few-shot file is the evaluated one.
/// </summary>
public static class GenericMcTask
{
    /// <summary>The task over <paramref name="path"/>, its examples from <paramref name="fewShotPath"/> when given.</summary>
    public static McTask Open(string path, string? fewShotPath)
    {
        var docs = ReadDocs(path);
        var shots = fewShotPath is null ? null : SamePath(path, fewShotPath) ? docs : ReadDocs(fewShotPath);
        return new McTask("mc", "", docs, shots, FewShotSampling.Random, fewShotPath ?? "--fewshot-data (not given)",
            ExcludeEvalDoc: fewShotPath is not null && SamePath(path, fewShotPath));
    }

    /// <summary>The documents of one file; a label outside the choices throws naming the line.</summary>
    public static IReadOnlyList<McDoc> ReadDocs(string path)
    {
        var docs = new List<McDoc>();
        foreach (var (line, row) in JsonlRows.Read(path))
        {
            string context = JsonlRows.String(path, line, row, "context");
            var choices = JsonlRows.Strings(path, line, row, "choices");
            int label = JsonlRows.Int(path, line, row, "label");
            if (choices.Length == 0) throw new InvalidDataException($"{path}:{line}: \"choices\" is empty");
            if (label < 0 || label >= choices.Length) throw new InvalidDataException($"{path}:{line}: \"label\" {label} is not an index into the {choices.Length} choices");
            docs.Add(new McDoc(context, choices, label, CanonicalJson.Of(row)));
        }
        if (docs.Count == 0) throw new InvalidDataException($"{path}: no rows");
        return docs;
    }

    private static bool SamePath(string a, string b) => Path.GetFullPath(a) == Path.GetFullPath(b);
}

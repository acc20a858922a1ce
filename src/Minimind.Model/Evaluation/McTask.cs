namespace Minimind.Model.Evaluation;

/// <summary>How lm-evaluation-harness picks a task's few-shot examples (lm_eval/api/samplers.py).</summary>
public enum FewShotSampling
{
    /// <summary><c>first_n</c>: the first k documents of the few-shot split, in order (C-Eval, CMMLU).</summary>
    FirstN,
    /// <summary><c>default</c>: <c>random.Random(seed).sample(docs, k + 1)</c>, one generator for the whole task, drawn per
    /// document in order; the evaluated document is dropped from the draw and the first k kept (HellaSwag).</summary>
    Random,
}

/// <summary>
/// A multiple-choice task ready to render: the documents to score, where its few-shot examples come from and how,
/// and the description that opens every prompt (lm-eval's <c>description</c>).
/// </summary>
/// <param name="Name">The task or subject name (the group of its items).</param>
/// <param name="Description">Text before the few-shot examples ("" for none).</param>
/// <param name="Docs">The evaluation split, in file order.</param>
/// <param name="FewShotDocs">The split the examples are drawn from (null: none available).</param>
/// <param name="Sampling">How they are drawn.</param>
/// <param name="FewShotSource">Where <paramref name="FewShotDocs"/> came from, for error messages.</param>
/// <param name="ExcludeEvalDoc">Whether the sampler drops the evaluated document from the examples (lm-eval passes it when the
/// few-shot split is the evaluation split's, which includes HellaSwag's two unset splits).</param>
public sealed record McTask(string Name, string Description, IReadOnlyList<McDoc> Docs, IReadOnlyList<McDoc>? FewShotDocs, FewShotSampling Sampling,
    string FewShotSource, bool ExcludeEvalDoc);

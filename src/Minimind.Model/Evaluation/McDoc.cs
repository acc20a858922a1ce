namespace Minimind.Model.Evaluation;

/// <summary>
/// One document of a multiple-choice task as lm-evaluation-harness's task sees it after its templates: the question
/// text (<c>doc_to_text</c>), the choices (<c>doc_to_choice</c>) and the index of the correct one (<c>doc_to_target</c>).
/// <see cref="Key"/> stands for the raw row: two documents are the same document when their keys are equal (the
/// random few-shot sampler drops the evaluated document from its draw by comparing the rows).
/// </summary>
public sealed record McDoc(string Text, IReadOnlyList<string> Choices, int Label, string Key);

namespace Minimind.Model.Evaluation;

/// <summary>
/// One multiple-choice question ready to score, as lm-evaluation-harness's <c>multiple_choice</c> output type builds
/// its requests: the whole prompt (description, few-shot examples, question) and one continuation per choice,
/// <c>delimiter + choice</c>. <see cref="Choices"/> are without the delimiter (acc_norm divides by their length).
/// </summary>
/// <param name="Index">Position of the question in its task's evaluation split (lm-eval's doc_id).</param>
/// <param name="Group">The task or subject it belongs to (a C-Eval/CMMLU subject, "hellaswag", "mc").</param>
/// <param name="Context">The prompt: everything before the answer.</param>
/// <param name="Choices">The answer texts.</param>
/// <param name="Label">Index of the correct choice.</param>
/// <param name="Delimiter">lm-eval's target_delimiter, put before each choice (default " ").</param>
public sealed record McItem(int Index, string Group, string Context, IReadOnlyList<string> Choices, int Label, string Delimiter)
{
    /// <summary>The text scored for choice <paramref name="i"/>: the delimiter and the choice.</summary>
    public string Continuation(int i) => Delimiter + Choices[i];
}

using Minimind.Model.Text;

namespace Minimind.Training.Rl;

/// <summary>
/// MiniMind's rule reward of one completion (<c>calculate_rewards</c> of train_grpo.py and train_ppo.py, the reward
/// model aside): +0.5 when the stripped completion is 20..800 characters long, else −0.5; when it contains
/// <c>&lt;/think&gt;</c>, +1.0 when the stripped thinking (the text before the first one) is 20..300 characters long,
/// else −0.5, and +0.25 when <c>&lt;/think&gt;</c> occurs once, else −0.25, the answer then being the stripped text
/// after it; minus <see cref="RepPenalty"/> of the answer. Lengths count code points as Python's len().
/// </summary>
/// <param name="Length">The length term (±0.5).</param>
/// <param name="Thinking">The thinking-length term (+1.0 / −0.5; 0 without <c>&lt;/think&gt;</c>).</param>
/// <param name="ThinkClose">The single-<c>&lt;/think&gt;</c> term (±0.25; 0 without <c>&lt;/think&gt;</c>).</param>
/// <param name="RepetitionPenalty">rep_penalty of the answer, as Python computes it (float64).</param>
/// <param name="Answer">What the reward model scores: the completion, or the stripped text after the first <c>&lt;/think&gt;</c>.</param>
public readonly record struct RuleReward(float Length, float Thinking, float ThinkClose, double RepetitionPenalty, string Answer)
{
    private const string ThinkEnd = "</think>";

    /// <summary>
    /// The rule reward plus a reward-model score, accumulated as MiniMind does in its float32 reward tensor: the
    /// terms in order, the penalty rounded to float32 before it is subtracted, then the (already clipped) score.
    /// </summary>
    public float Total(float rewardModelScore = 0f)
    {
        float r = 0f;
        r += Length;
        if (Thinking != 0f) { r += Thinking; r += ThinkClose; }
        r -= (float)RepetitionPenalty;
        return r + rewardModelScore;
    }

    /// <summary>Scores <paramref name="response"/> (the decoded completion).</summary>
    public static RuleReward Score(string response)
    {
        int len = PythonText.Length(PythonText.Strip(response));
        float length = len is >= 20 and <= 800 ? 0.5f : -0.5f;
        float thinking = 0f, close = 0f;
        string answer = response;
        int at = response.IndexOf(ThinkEnd, StringComparison.Ordinal);
        if (at >= 0)
        {
            int thinkLen = PythonText.Length(PythonText.Strip(response[..at]));
            thinking = thinkLen is >= 20 and <= 300 ? 1.0f : -0.5f;
            close = Count(response, ThinkEnd) == 1 ? 0.25f : -0.25f;
            answer = PythonText.Strip(response[(at + ThinkEnd.Length)..]);
        }
        return new RuleReward(length, thinking, close, RepPenalty(answer), answer);
    }

    /// <summary>
    /// MiniMind's <c>rep_penalty(text, n=3, cap=0.5)</c>: over the tokens <c>re.findall(r"\w+|[^\w\s]", text.lower())</c>,
    /// min(cap, (#n-grams − #distinct n-grams)·cap·2 / #n-grams), 0 without an n-gram.
    /// </summary>
    public static double RepPenalty(string text, int n = 3, double cap = 0.5)
    {
        var toks = PythonText.WordsAndSymbols(PythonText.Lower(text));
        int grams = toks.Count - n + 1;
        if (grams <= 0) return 0.0;
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        // Python compares tuples of tokens; length-prefixed joins are equal exactly when the tuples are
        for (int i = 0; i < grams; i++) distinct.Add(string.Concat(toks.GetRange(i, n).Select(t => $"{t.Length}:{t}")));
        return Math.Min(cap, (grams - distinct.Count) * cap * 2 / grams);
    }

    /// <summary>Python's <c>s.count(sub)</c>: non-overlapping occurrences.</summary>
    internal static int Count(string s, string sub)
    {
        int count = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}

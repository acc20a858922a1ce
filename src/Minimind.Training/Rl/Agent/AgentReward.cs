using Minimind.Model.Text;
using System.Globalization;
using System.Text;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Agent;

/// <summary>One agent completion's reward and its parts (train_agent.py's calculate_rewards).</summary>
/// <param name="Total">The reward, clipped to ±3, as MiniMind stores it (float32).</param>
/// <param name="TagPenalty">−0.5 per unbalanced tool-call tag over the turns' answers.</param>
/// <param name="Length">Without tool calls: +0.5 for a stripped response of 5..800 characters, else −0.5.</param>
/// <param name="Think">Without tool calls and with a &lt;/think&gt;: +1 for 20..300 characters of thinking, else −0.5.</param>
/// <param name="ThinkClose">Without tool calls and with a &lt;/think&gt;: +0.25 for exactly one, else −0.25.</param>
/// <param name="RewardModel">Without tool calls: the reward model's (clipped) score, 0 without a reward model.</param>
/// <param name="ToolAlignment">With tool calls: +0.5 when the valid calls match the ground truth's count, else −0.5·gap.</param>
/// <param name="GroundTruth">With tool calls: 2.5 × the fraction of ground-truth items found in the final text.</param>
/// <param name="Unfinished">−0.5 when the rollout ran out of turns while still calling tools.</param>
/// <param name="RepetitionPenalty">rep_penalty of the scored text (subtracted).</param>
/// <param name="ToolCallCount">Calls parsed over all turns.</param>
/// <param name="ValidCallCount">Calls naming an offered tool with arguments its check accepts.</param>
public readonly record struct AgentRewardParts(float Total, double TagPenalty, double Length, double Think, double ThinkClose, double RewardModel, double ToolAlignment,
    double GroundTruth, double Unfinished, double RepetitionPenalty, int ToolCallCount, int ValidCallCount)
{
    /// <summary>
    /// The parts by name, as the rollout log records them: tag_penalty, length, think, think_close (as grpo names them),
    /// reward_model, tool_alignment, ground_truth, unfinished, repetition_penalty (subtracted), tool_calls, valid_tool_calls.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, double>> Named() => new KeyValuePair<string, double>[]
    {
        new("tag_penalty", TagPenalty), new("length", Length), new("think", Think), new("think_close", ThinkClose), new("reward_model", RewardModel), new("tool_alignment", ToolAlignment),
        new("ground_truth", GroundTruth), new("unfinished", Unfinished), new("repetition_penalty", RepetitionPenalty),
        new("tool_calls", ToolCallCount), new("valid_tool_calls", ValidCallCount),
    };
}

/// <summary>
/// MiniMind's agent reward (train_agent.py calculate_rewards) of one multi-turn completion, in Python's float64 and
/// order: tag balance; without tool calls MiniMind's rule reward (length 5..800) plus the reward model's score; with
/// them the tool-count alignment with the ground truth, the ground-truth items found in the final text
/// (<see cref="Verified"/>), −0.5 when unfinished; minus rep_penalty; clipped to ±3. A tool call that is not a JSON
/// object, or arguments that are not one, count as invalid calls (MiniMind's code raises on them).
/// </summary>
public static class AgentReward
{
    private const string ThinkEnd = "</think>", CallEnd = "</tool_call>";

    /// <summary>Each turn's answer: the text after the first &lt;/think&gt; (or the whole turn), stripped.</summary>
    public static List<string> TurnAnswers(IReadOnlyList<string> turns) => turns.Select(t =>
    {
        int at = t.IndexOf(ThinkEnd, StringComparison.Ordinal);
        return PythonText.Strip(at >= 0 ? t[(at + ThinkEnd.Length)..] : t);
    }).ToList();

    /// <summary>
    /// Whether this completion's reward asks the reward model (no tool call in any turn), and the answer it scores
    /// (the text after the final turn's first &lt;/think&gt;, stripped; or the last turn's answer).
    /// </summary>
    public static (bool Needed, string Answer) RewardModelRequest(IReadOnlyList<string> turns, string response)
    {
        var answers = TurnAnswers(turns);
        if (answers.Any(a => ToolCalls.Parse(a).Count > 0)) return (false, "");
        string answer = answers.Count > 0 ? answers[^1] : PythonText.Strip(response);
        int at = response.IndexOf(ThinkEnd, StringComparison.Ordinal);
        if (at >= 0) answer = PythonText.Strip(response[(at + ThinkEnd.Length)..]);
        return (true, answer);
    }

    /// <summary>
    /// The reward of a completion: <paramref name="turns"/> are the model's outputs per turn (the last one is
    /// <paramref name="response"/>), <paramref name="toolNames"/> the offered tools' names, <paramref name="gt"/> the
    /// row's ground truth, <paramref name="rewardModelScore"/> the clipped score when a reward model is used.
    /// </summary>
    public static AgentRewardParts Score(IReadOnlyList<string> turns, string response, IReadOnlySet<string> toolNames,
        IReadOnlyList<PyValue> gt, bool unfinished, double? rewardModelScore)
    {
        var answers = TurnAnswers(turns);
        string answer = answers.Count > 0 ? answers[^1] : PythonText.Strip(response);
        var calls = answers.SelectMany(ToolCalls.Parse).ToList();
        double reward = 0.0;
        int unbalanced = answers.Sum(ToolCalls.Unbalanced);
        double tags = -(0.5 * unbalanced);
        reward -= 0.5 * unbalanced;
        double length = 0, think = 0, close = 0, rm = 0, align = 0, truth = 0, late = 0, rep;
        int valid = 0;
        if (calls.Count == 0)
        {
            int len = PythonText.Length(PythonText.Strip(response));
            double l = len is >= 5 and <= 800 ? 0.5 : -0.5;
            reward += l; length = l;
            int at = response.IndexOf(ThinkEnd, StringComparison.Ordinal);
            if (at >= 0)
            {
                double t = PythonText.Length(PythonText.Strip(response[..at])) is >= 20 and <= 300 ? 1.0 : -0.5;
                double c = RuleReward.Count(response, ThinkEnd) == 1 ? 0.25 : -0.25;
                reward += t; reward += c; think = t; close = c;
                answer = PythonText.Strip(response[(at + ThinkEnd.Length)..]);
            }
            if (rewardModelScore is { } s) { reward += s; rm = s; }
            rep = RuleReward.RepPenalty(answer);
            reward -= rep;
        }
        else
        {
            foreach (var call in calls)
            {
                var (name, args) = ToolCalls.NameAndArguments(call);
                if (name is PyStr { Value: var n } && toolNames.Contains(n) && MockTools.CheckArguments(n, args)) valid++;
            }
            int gap = Math.Abs(valid - gt.Count) + Math.Max(0, calls.Count - valid);
            align = gap == 0 ? 0.5 : -0.5 * gap;
            reward += align;
            string finalText = unfinished ? "" : answer.Contains(CallEnd, StringComparison.Ordinal) ? answer[(answer.LastIndexOf(CallEnd, StringComparison.Ordinal) + CallEnd.Length)..] : answer;
            if (gt.Count > 0)
            {
                truth = 2.5 * Verified(finalText, gt) / gt.Count;
                reward += truth;
            }
            if (unfinished) { reward -= 0.5; late = -0.5; }
            rep = RuleReward.RepPenalty(finalText.Length > 0 ? finalText : answer);
            reward -= rep;
        }
        float total = (float)Math.Max(Math.Min(reward, 3.0), -3.0);
        return new AgentRewardParts(total, tags, length, think, close, rm, align, truth, late, rep, calls.Count, valid);
    }

    /// <summary>
    /// <c>len(validate_gt_in_text(text, gt))</c>: the distinct ground-truth items (Python equality: 3 == 3.0) whose str()
    /// occurs in the text (case-insensitive), or that are numbers equal within 1e-6 to a number standing alone in the
    /// text (commas removed; <c>(?&lt;![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])</c>).
    /// </summary>
    public static int Verified(string text, IReadOnlyList<PyValue> gt)
    {
        string lowerText = PythonText.Lower(text);
        var nums = Numbers(text.Replace(",", ""));
        var found = new List<PyValue>();
        foreach (var g in gt)
        {
            string s;
            try { s = PythonText.Strip(g.Str()); }
            catch (PyError) { continue; }
            bool hit = s.Length > 0 && lowerText.Contains(PythonText.Lower(s), StringComparison.Ordinal);
            if (!hit && FullNumber(s.Replace(",", "")) is { } v) hit = nums.Any(n => Math.Abs(v - n) < 1e-6);
            if (hit && !found.Any(f => PyValue.PyEquals(f, g))) found.Add(g);
        }
        return found.Count;
    }

    private static int[] CodePoints(string s) => s.EnumerateRunes().Select(r => r.Value).ToArray();

    // re's \d for str patterns (any Unicode decimal digit) and the digit's value; −1 for anything else.
    private static int Digit(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.DecimalDigitNumber
        ? CharUnicodeInfo.GetDecimalDigitValue(char.ConvertFromUtf32(cp), 0) : -1;

    // re.findall(r'(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])', text), each match as float().
    private static List<double> Numbers(string text)
    {
        var cp = CodePoints(text);
        var nums = new List<double>();
        bool Blocks(int k) => k >= 0 && k < cp.Length && (PythonText.IsWord(cp[k]) || cp[k] == '.');
        int i = 0;
        while (i < cp.Length)
        {
            int end = -1;
            if (!Blocks(i - 1))
            {
                foreach (bool signed in new[] { true, false })
                {
                    int j = i;
                    if (signed) { if (cp[j] is not ('-' or '+')) continue; j++; }
                    int d = j;
                    while (d < cp.Length && Digit(cp[d]) >= 0) d++;
                    if (d == j) continue;
                    // with a fraction (if one follows), else without; only these can pass the lookahead
                    if (d + 1 < cp.Length && cp[d] == '.' && Digit(cp[d + 1]) >= 0)
                    {
                        int f = d + 1;
                        while (f < cp.Length && Digit(cp[f]) >= 0) f++;
                        if (!Blocks(f)) { end = f; break; }
                    }
                    if (!Blocks(d)) { end = d; break; }
                }
            }
            if (end < 0) { i++; continue; }
            nums.Add(ParseAscii(cp, i, end));
            i = end;
        }
        return nums;
    }

    private static double ParseAscii(int[] cp, int from, int to)
    {
        var sb = new StringBuilder();
        for (int k = from; k < to; k++) sb.Append(Digit(cp[k]) is var d and >= 0 ? (char)('0' + d) : (char)cp[k]);
        return double.Parse(sb.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    // re.fullmatch(r'[-+]?\d+(?:\.\d+)?', s) and its float(), or null.
    private static double? FullNumber(string s)
    {
        var cp = CodePoints(s);
        int i = 0;
        if (i < cp.Length && cp[i] is '-' or '+') i++;
        int d = i;
        while (d < cp.Length && Digit(cp[d]) >= 0) d++;
        if (d == i) return null;
        if (d < cp.Length)
        {
            if (cp[d] != '.' || d + 1 >= cp.Length) return null;
            int f = d + 1;
            while (f < cp.Length && Digit(cp[f]) >= 0) f++;
            if (f == d + 1 || f != cp.Length) return null;
        }
        return ParseAscii(cp, 0, cp.Length);
    }
}

using Minimind.Model.Text;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Agent;

/// <summary>
/// train_agent.py's tool-call handling: <c>parse_tool_calls</c> (every <c>&lt;tool_call&gt;…&lt;/tool_call&gt;</c> span,
/// non-greedy, its stripped text parsed by json.loads, spans that do not parse dropped), the name/arguments of a call
/// (arguments given as a JSON string are parsed, {} when they do not parse), and the observation text the rollout
/// appends as the tool's message.
/// </summary>
public static class ToolCalls
{
    private const string Open = "<tool_call>", Close = "</tool_call>";

    /// <summary><c>parse_tool_calls(text)</c>: the parsed JSON of each well-formed call, in order.</summary>
    public static List<PyValue> Parse(string text)
    {
        var calls = new List<PyValue>();
        int from = 0;
        while (true)
        {
            int open = text.IndexOf(Open, from, StringComparison.Ordinal);
            if (open < 0) break;
            int close = text.IndexOf(Close, open + Open.Length, StringComparison.Ordinal);
            if (close < 0) break; // no later span can close either
            try { calls.Add(PyJson.Loads(PythonText.Strip(text[(open + Open.Length)..close]))); }
            catch (PyError) { }
            from = close + Close.Length;
        }
        return calls;
    }

    /// <summary>
    /// A call's name (<c>call.get("name", "")</c>) and arguments (<c>call.get("arguments", {})</c>, a string parsed as JSON
    /// or {} when it does not parse). A call that is not a JSON object — MiniMind's code would raise on it — has name ""
    /// and no arguments, so it counts as an invalid call.
    /// </summary>
    public static (PyValue Name, PyValue Arguments) NameAndArguments(PyValue call)
    {
        if (call is not PyDict d) return (new PyStr(""), PyDict.Of());
        var name = d.Get("name", new PyStr(""));
        var raw = d.Get("arguments", PyDict.Of());
        if (raw is PyStr s)
        {
            try { raw = PyJson.Loads(s.Value); }
            catch (PyError) { raw = PyDict.Of(); }
        }
        return (name, raw);
    }

    /// <summary>Unbalanced-tag count of one turn's answer: |#&lt;tool_call&gt; − #&lt;/tool_call&gt;|.</summary>
    public static int Unbalanced(string answer) => Math.Abs(RuleReward.Count(answer, Open) - RuleReward.Count(answer, Close));

    /// <summary>
    /// The tool message the rollout adds for a call: json.dumps of the mock tool's result (ensure_ascii=False), or
    /// <c>{"error": "tool not found"}</c> when the tool is unknown or fails, cut to 2,048 characters.
    /// </summary>
    public static string Observation(PyValue name, PyValue arguments)
    {
        var result = MockTools.Execute(name, arguments);
        string text = result is { Truthy: true } ? PyJson.Dumps(result) : "{\"error\": \"tool not found\"}";
        return CutCodePoints(text, 2048);
    }

    private static string CutCodePoints(string s, int n)
    {
        int i = 0;
        for (int k = 0; k < n && i < s.Length; k++) i += char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        return s[..i];
    }
}

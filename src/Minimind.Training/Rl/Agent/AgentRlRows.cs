using System.Text.Json;
using Minimind.Model.Data.Sft;
using Minimind.Training.Rl.Python;

namespace Minimind.Training.Rl.Agent;

/// <summary>
/// One row of an agent-RL dataset as AgentRLDataset gives it: the conversation without its last message (the reference
/// answer), the tools of the system message (its <c>tools</c> field, a JSON string or a list), and the ground truth
/// <c>gt</c> (a list of values the final answer should contain).
/// </summary>
/// <param name="Messages">The messages the rollout starts from (template values).</param>
/// <param name="Tools">The tool list for the template, or null.</param>
/// <param name="ToolNames">Names of the offered tools (<c>t['function']['name']</c>).</param>
/// <param name="Gt">The ground-truth items.</param>
/// <param name="Origin">file:line.</param>
public sealed record AgentTask(List<object?> Messages, object? Tools, IReadOnlySet<string> ToolNames, IReadOnlyList<PyValue> Gt, string Origin);

/// <summary>Reads agent-RL rows (<c>{"conversations": [...], "gt": [...]}</c> per line), MiniMind's agent_rl.jsonl.</summary>
public static class AgentRlRows
{
    /// <summary>Every row of <paramref name="path"/>; errors name the file and line.</summary>
    public static List<AgentTask> Read(string path)
    {
        var rows = new List<AgentTask>();
        // strict UTF-8 with file:line, as every jsonl reader
        foreach (var (line, text) in Minimind.Model.Data.JsonlTexts.ReadLines(path))
        {
            string origin = $"{path}:{line}";
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { throw new InvalidDataException($"{origin}: not valid JSON: {e.Message}", e); }
            using (doc) rows.Add(Parse(doc.RootElement, origin));
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no rows");
        return rows;
    }

    /// <summary>One row.</summary>
    public static AgentTask Parse(JsonElement row, string origin)
    {
        if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty("conversations", out var conv))
            throw new InvalidDataException($"{origin}: expected an object with \"conversations\" and \"gt\"");
        if (!row.TryGetProperty("gt", out var gtEl) || gtEl.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{origin}: \"gt\" must be a list (the values the final answer should contain)");
        var c = SftConversation.Parse(conv, origin);
        if (c.Messages.Count < 2) throw new InvalidDataException($"{origin}: a conversation needs a prompt and a final reference message");
        var messages = c.Messages.Take(c.Messages.Count - 1).ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (c.Tools is List<object?> tools)
            foreach (var t in tools)
                if (t is IDictionary<string, object?> td && td.TryGetValue("function", out var f) && f is IDictionary<string, object?> fd
                    && fd.TryGetValue("name", out var n) && n is string name)
                    names.Add(name);
        var gt = ((PyList)PyJson.Loads(gtEl.GetRawText())).Items;
        return new AgentTask(messages, c.Tools, names, gt, origin);
    }
}

using System.Text.Encodings.Web;
using System.Text.Json;

namespace Minimind.Model.Evaluation;

/// <summary>
/// The JSON an evaluation writes: one object per scored question (the per-item log, like lm-eval's --log_samples) and the
/// summary object <c>{"task", "n", "acc", "acc_stderr", "acc_norm", "acc_norm_stderr", ...}</c>. CJK text is written as is.
/// </summary>
public static class McReport
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One line of the per-item log: the prompt, choices, label, every choice's log-likelihood and tokens, and the predictions.</summary>
    public static string ItemLine(McResult r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Options))
        {
            var item = r.Item;
            w.WriteStartObject();
            w.WriteNumber("doc_id", item.Index);
            w.WriteString("group", item.Group);
            w.WriteString("context", item.Context);
            w.WriteString("target_delimiter", item.Delimiter);
            WriteArray(w, "choices", item.Choices, (w, c) => w.WriteStringValue(c));
            w.WriteNumber("label", item.Label);
            WriteArray(w, "loglikelihoods", r.Scores, (w, s) => w.WriteNumberValue(s.LogLikelihood));
            WriteArray(w, "is_greedy", r.Scores, (w, s) => w.WriteBooleanValue(s.IsGreedy));
            w.WriteNumber("pred", r.Pred);
            w.WriteNumber("pred_norm", r.PredNorm);
            w.WriteNumber("acc", r.Acc);
            w.WriteNumber("acc_norm", r.AccNorm);
            w.WriteNumber("acc_bytes", r.AccBytes);
            w.WriteBoolean("truncated", r.Scores.Any(s => s.Truncated));
            WriteArray(w, "context_tokens", r.Tokens[0].Context, (w, id) => w.WriteNumberValue(id));
            if (r.Tokens.Any(t => !t.Context.AsSpan().SequenceEqual(r.Tokens[0].Context)))
                WriteArray(w, "context_tokens_per_choice", r.Tokens, (w, t) => WriteIds(w, t.Context));
            WriteArray(w, "continuation_tokens", r.Tokens, (w, t) => WriteIds(w, t.Continuation));
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>
    /// The summary line: the task's totals (a group's when there are several subjects) with the run's settings in
    /// <paramref name="extra"/>, and a "subjects" object when there is more than one.
    /// </summary>
    public static string SummaryLine(string task, McSummary total, IReadOnlyList<McSummary> groups, IEnumerable<KeyValuePair<string, object?>> extra)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Options))
        {
            w.WriteStartObject();
            w.WriteString("task", task);
            WriteMetrics(w, total);
            foreach (var (k, v) in extra) WriteValue(w, k, v);
            if (groups.Count > 1)
            {
                w.WriteStartObject("subjects");
                foreach (var g in groups)
                {
                    w.WriteStartObject(g.Name);
                    WriteMetrics(w, g);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteMetrics(Utf8JsonWriter w, McSummary s)
    {
        w.WriteNumber("n", s.Count);
        foreach (var (name, m) in new[] { ("acc", s.Acc), ("acc_norm", s.AccNorm), ("acc_bytes", s.AccBytes) })
        {
            w.WriteNumber(name, m.Mean);
            if (m.Stderr is double e) w.WriteNumber(name + "_stderr", e); else w.WriteNull(name + "_stderr");
        }
    }

    private static void WriteValue(Utf8JsonWriter w, string key, object? v)
    {
        switch (v)
        {
            case null: w.WriteNull(key); break;
            case string s: w.WriteString(key, s); break;
            case bool b: w.WriteBoolean(key, b); break;
            case int i: w.WriteNumber(key, i); break;
            case long l: w.WriteNumber(key, l); break;
            case double d: w.WriteNumber(key, d); break;
            default: throw new ArgumentException($"summary field {key}: unsupported type {v.GetType().Name}");
        }
    }

    private static void WriteIds(Utf8JsonWriter w, int[] ids)
    {
        w.WriteStartArray();
        foreach (int id in ids) w.WriteNumberValue(id);
        w.WriteEndArray();
    }

    private static void WriteArray<T>(Utf8JsonWriter w, string name, IEnumerable<T> xs, Action<Utf8JsonWriter, T> one)
    {
        w.WriteStartArray(name);
        foreach (var x in xs) one(w, x);
        w.WriteEndArray();
    }
}

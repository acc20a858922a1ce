using System.Globalization;
using System.Text.Json;

namespace Minimind.Training.Rl.Logging;

/// <summary>
/// A rollout-log line: one prompt of one logged step as a JSON object (field order fixed, so two runs that trained the
/// same bits write the same bytes). Every float32 value is written as the exact decimal value of its double widening
/// (<c>0.1f</c> → <c>0.10000000149011612</c>), so any JSON reader that parses numbers as doubles (Python's json, numpy,
/// JavaScript) gets the float32 back bit for bit; a non-finite value is written as a string ("NaN", "-Infinity") as the
/// metrics log does.
/// </summary>
public static class RolloutJson
{
    // Text as it reads (CJK, <|im_start|>) rather than \u escapes; still valid JSON for any reader.
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Where a prompt sits in the run: its step, epoch, micro-batch (global index in the epoch), rank and index in the micro-batch.</summary>
    public readonly record struct Position(long Step, int Epoch, long MicroBatch, int Rank, int Index);

    /// <summary>The UTF-8 JSON of <paramref name="prompt"/> at <paramref name="at"/>, trained with loss <paramref name="loss"/>.</summary>
    public static byte[] Line(Position at, float loss, RolloutPromptRecord prompt)
    {
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, Options))
        {
            j.WriteStartObject();
            j.WriteNumber("step", at.Step);
            j.WriteNumber("epoch", at.Epoch);
            j.WriteNumber("micro_batch", at.MicroBatch);
            j.WriteNumber("rank", at.Rank);
            j.WriteNumber("index", at.Index);
            j.WriteNumber("sample", prompt.Sample);
            j.WritePropertyName("micro_batch_loss"); Float(j, loss);
            Ints(j, "prompt_ids", prompt.PromptIds);
            j.WriteString("prompt_text", prompt.PromptText);
            // gt as the row's JSON gave it (json.dumps of the parsed items)
            if (prompt.GroundTruth is { } gt) { j.WritePropertyName("gt"); j.WriteRawValue(Python.PyJson.Dumps(new Python.PyList(gt.ToList()))); }
            j.WriteStartArray("completions");
            foreach (var c in prompt.Completions)
            {
                j.WriteStartObject();
                Ints(j, "ids", c.Ids);
                j.WriteString("text", c.Text);
                Floats(j, "mask", c.Mask);
                j.WritePropertyName("reward"); Float(j, c.Reward);
                j.WriteStartObject("reward_parts");
                foreach (var (k, v) in c.RewardParts) { j.WritePropertyName(k); Double(j, v); }
                j.WriteEndObject();
                if (c.Advantage is { } a) { j.WritePropertyName("advantage"); Float(j, a); }
                Floats(j, "old_logprobs", c.OldLogProbs);
                if (c.Values is { } values) Floats(j, "values", values);
                if (c.TokenAdvantages is { } adv) Floats(j, "advantages", adv);
                if (c.Returns is { } returns) Floats(j, "returns", returns);
                if (c.PromptIds is { } own) Ints(j, "prompt_ids", own);
                if (c.TurnTexts is { } texts)
                {
                    j.WriteStartArray("turn_texts");
                    foreach (var t in texts) j.WriteStringValue(t);
                    j.WriteEndArray();
                }
                if (c.Turns is { } turns) Spans(j, "turns", turns);
                if (c.Observations is { } obs) Spans(j, "observations", obs);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static void Float(Utf8JsonWriter j, float v) => Double(j, v);

    private static void Double(Utf8JsonWriter j, double v)
    {
        if (double.IsFinite(v)) j.WriteNumberValue(v); // shortest round-trip form of the double
        else j.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
    }

    private static void Ints(Utf8JsonWriter j, string name, int[] values)
    {
        j.WriteStartArray(name);
        foreach (var v in values) j.WriteNumberValue(v);
        j.WriteEndArray();
    }

    private static void Floats(Utf8JsonWriter j, string name, float[] values)
    {
        j.WriteStartArray(name);
        foreach (var v in values) Float(j, v);
        j.WriteEndArray();
    }

    private static void Spans(Utf8JsonWriter j, string name, IReadOnlyList<TokenSpan> spans)
    {
        j.WriteStartArray(name);
        foreach (var s in spans) { j.WriteStartArray(); j.WriteNumberValue(s.Start); j.WriteNumberValue(s.End); j.WriteEndArray(); }
        j.WriteEndArray();
    }
}

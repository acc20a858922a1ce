using System.Text;
using System.Text.Json;
using Minimind.Training.Rl.Logging;

namespace Minimind.Training.Tests;

/// <summary>
/// The one resume mechanism of the run's JSON-lines files (metrics, rollouts): a torn last line is cut on every open;
/// a resume from step k drops later steps' lines and invalid ones, keeping lines of steps up to k (and lines without a
/// step) wherever they are; a dropped tail is cut in place, anything else rewritten. And the rollout line's floats.
/// </summary>
public class JsonLinesFileTests
{
    private static void Write(string path, params string[] lines) => File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));

    [Fact]
    public void FreshOpenCutsOnlyATornLastLine()
    {
        using var t = new TempDir();
        var p = Path.Combine(t.Path, "a.jsonl");
        Write(p, "{\"step\":1}", "{\"step\":9}");
        File.AppendAllText(p, "{\"step\":10,\"x\":[1,"); // a kill mid-line
        using (var f = new JsonLinesFile(p, null)) f.WriteLine("{\"step\":11}"u8);
        Assert.Equal(new[] { "{\"step\":1}", "{\"step\":9}", "{\"step\":11}" }, File.ReadAllLines(p));
    }

    [Fact]
    public void ResumeDropsLaterStepsInPlaceWhenTheyAreTheTail()
    {
        using var t = new TempDir();
        var p = Path.Combine(t.Path, "a.jsonl");
        Write(p, "{\"step\":1,\"a\":{\"step\":7}}", "{\"step\":2}", "{\"step\":3}", "{\"step\":3}");
        File.AppendAllText(p, "{\"step\":4");
        using (var probe = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            using (var f = new JsonLinesFile(p, 2)) f.WriteLine("{\"step\":3,\"again\":true}"u8);
            Assert.Equal(File.ReadAllBytes(p).Length, probe.Length); // the same file, cut and appended (no rewrite)
        }
        Assert.Equal(new[] { "{\"step\":1,\"a\":{\"step\":7}}", "{\"step\":2}", "{\"step\":3,\"again\":true}" }, File.ReadAllLines(p));
    }

    [Fact]
    public void ResumeKeepsEarlierLinesAfterADroppedOne()
    {
        using var t = new TempDir();
        var p = Path.Combine(t.Path, "a.jsonl");
        // a save of step 2 reported after step 3's line; a line that is not JSON
        Write(p, "{\"event\":\"start\",\"step\":0}", "{\"step\":3,\"loss\":1}", "{\"event\":\"save\",\"step\":2}", "not json", "{\"step\":4}");
        using (var f = new JsonLinesFile(p, 2)) { }
        Assert.Equal(new[] { "{\"event\":\"start\",\"step\":0}", "{\"event\":\"save\",\"step\":2}" }, File.ReadAllLines(p));
    }

    [Fact]
    public void RolloutLineFloatsReadBackAsTheSameFloat32Bits()
    {
        var rng = new Random(3);
        var values = new[] { 0.1f, -1e-30f, float.Epsilon, float.MaxValue, -8.449416f, 1f / 3 }
            .Concat(Enumerable.Range(0, 500).Select(_ => BitConverter.Int32BitsToSingle(rng.Next()) is var f && float.IsFinite(f) ? f : 1f)).ToArray();
        var c = new RolloutCompletionRecord(new[] { 1, 2 }, "a\u00e9<|im_end|>", new[] { 1f, 0f }, values[0], new KeyValuePair<string, double>[] { new("length", 0.5) }, values)
            { Advantage = values[5] };
        var line = RolloutJson.Line(new RolloutJson.Position(4, 0, 7, 1, 2), float.NaN, new RolloutPromptRecord(9, new[] { 257 }, "<|im_start|>", new[] { c }));
        var text = Encoding.UTF8.GetString(line);
        Assert.Contains("\"text\":\"a\u00e9<|im_end|>\"", text); // readable, not \u-escaped
        using var d = JsonDocument.Parse(line);
        var r = d.RootElement;
        Assert.Equal("NaN", r.GetProperty("micro_batch_loss").GetString());
        Assert.Equal(new[] { "step", "epoch", "micro_batch", "rank", "index", "sample", "micro_batch_loss", "prompt_ids", "prompt_text", "completions" },
            r.EnumerateObject().Select(p => p.Name));
        var logged = r.GetProperty("completions")[0].GetProperty("old_logprobs").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        // each number, read as a double (as Python's json reads it), is exactly the float32's value
        Assert.Equal(values.Select(v => (double)v), logged);
        Assert.Equal(0.10000000149011612, r.GetProperty("completions")[0].GetProperty("reward").GetDouble());
    }
}

using System.Diagnostics;
using System.Text.Json;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// `train --tensorboard DIR`: the event file parsed by an independent reader (tools/tensorboard/read_events.py: TFRecord
/// framing, both CRC-32Cs, the Event/Summary protobufs by hand) holds every logged step exactly once after a kill that
/// lost the steps since the last save (and cut a record short), and a resume.
/// </summary>
public sealed class TensorBoardTests
{
    private static string Run(params string[] args) => TrainDataSourceTests.Run(args); // asserts exit 0

    private static string[] Args(string outDir, int maxSteps) => new[]
    {
        "train", "--device", "cpu", "--max-seq-len", "24", "--batch-size", "2", "--save-interval", "10", "--log-interval", "1",
        "--save-dtype", "f32", "--dim", "32", "--n-layers", "1", "--use-moe", "--out-dir", outDir,
        "--tensorboard", Path.Combine(outDir, "tb"), "--max-steps", maxSteps.ToString(),
    };

    private static Dictionary<long, float> JsonlLosses(string outDir)
    {
        var r = new Dictionary<long, float>();
        foreach (var line in File.ReadLines(Path.Combine(outDir, "checkpoints", "pretrain_32_moe_metrics.jsonl")))
        {
            using var d = JsonDocument.Parse(line);
            if (d.RootElement.TryGetProperty("loss", out var l)) Assert.True(r.TryAdd(d.RootElement.GetProperty("step").GetInt64(), l.GetSingle()));
        }
        return r;
    }

    // The largest step of the metrics jsonl's loss lines, or (with event) of that event's lines (0 before the file
    // exists); a line being written is skipped. The kill tests poll it.
    internal static long LoggedSteps(string metrics, string? @event = null)
    {
        long last = 0;
        if (!File.Exists(metrics)) return 0;
        using var fs = new FileStream(metrics, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var r = new StreamReader(fs);
        while (r.ReadLine() is { } line)
        {
            try
            {
                using var d = JsonDocument.Parse(line);
                bool match = @event is null
                    ? d.RootElement.TryGetProperty("loss", out _)
                    : d.RootElement.TryGetProperty("event", out var e) && e.GetString() == @event;
                if (match) last = Math.Max(last, d.RootElement.GetProperty("step").GetInt64());
            }
            catch (JsonException) { } // a line being written
        }
        return last;
    }

    [SkippableFact]
    public void EveryStepExactlyOnceAfterAKillAndResume_ReadByAnIndependentParser()
    {
        TestEnvironment.RequireTool(TestEnvironment.Torch1.Available || File.Exists(TestEnvironment.Python), "no /usr/bin/python3 for the event-file reader");
        using var d = new TempDir();
        const int total = 80; // room for a loaded machine to run past step 15 before the kill lands
        string outA = Path.Combine(d.Path, "a"), outB = Path.Combine(d.Path, "b");
        // SIGKILL once step 15 is logged and the save at 10 has been written (a background write may end some steps
        // later): steps after that save are in the event file but not in any checkpoint
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(TestPaths.CliDll);
        foreach (var a in Args(outA, total)) psi.ArgumentList.Add(a);
        using (var run = Process.Start(psi)!)
        {
            _ = run.StandardOutput.ReadToEndAsync();
            _ = run.StandardError.ReadToEndAsync();
            var metrics = Path.Combine(outA, "checkpoints", "pretrain_32_moe_metrics.jsonl");
            var sw = Stopwatch.StartNew();
            while (!run.HasExited && sw.Elapsed < TimeSpan.FromMinutes(3))
            {
                if (File.Exists(metrics) && LoggedSteps(metrics) >= 15 && LoggedSteps(metrics, "save") >= 10) break;
                Thread.Sleep(10);
            }
            Assert.False(run.HasExited, "the run ended before it could be killed");
            run.Kill(entireProcessTree: true);
            run.WaitForExit();
        }
        long killedAt = LoggedSteps(Path.Combine(outA, "checkpoints", "pretrain_32_moe_metrics.jsonl"));
        Assert.InRange(killedAt, 15, total - 1);
        // and a record cut short mid-write (the kill could land there too)
        var events = Directory.GetFiles(Path.Combine(outA, "tb"), "events.out.tfevents.*").Single();
        var bytes = File.ReadAllBytes(events);
        File.AppendAllBytes(events, bytes.AsSpan(bytes.Length - 40, 25).ToArray());
        Run(Args(outA, total).Append("--resume").ToArray());
        Run(Args(outB, total)); // uninterrupted

        var script = Path.Combine(TestPaths.RepoRoot, "tools", "tensorboard", "read_events.py");
        var files = Directory.GetFiles(Path.Combine(outA, "tb"));
        Assert.Single(files);
        var reader = new ProcessStartInfo(TestEnvironment.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        reader.ArgumentList.Add(script);
        reader.ArgumentList.Add(files[0]);
        reader.ArgumentList.Add(Directory.GetFiles(Path.Combine(outB, "tb")).Single());
        using var p = Process.Start(reader)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr.Result);
        var all = JsonDocument.Parse(json).RootElement.GetProperty("files").EnumerateObject().Select(f => f.Value).ToArray();
        var jsonl = JsonlLosses(outA);
        var runs = new List<Dictionary<long, JsonElement>>();
        foreach (var f in all)
        {
            Assert.Equal("brain.Event:2", f.GetProperty("file_version").GetString());
            var steps = f.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("step").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), steps); // each step once, in order
            runs.Add(f.GetProperty("events").EnumerateArray().ToDictionary(e => e.GetProperty("step").GetInt64(), e => e.GetProperty("scalars")));
        }
        foreach (var (step, s) in runs[0])
        {
            foreach (var tag in new[] { "train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s", "train/aux_loss" })
                Assert.True(s.TryGetProperty(tag, out _), $"step {step} lacks {tag}");
            Assert.Equal(jsonl[step], s.GetProperty("train/loss").GetSingle());
            // the resumed run's values are the uninterrupted run's (tokens/s aside)
            foreach (var tag in new[] { "train/loss", "train/lr", "train/grad_norm", "train/aux_loss" })
                Assert.Equal(runs[1][step].GetProperty(tag).GetSingle(), s.GetProperty(tag).GetSingle());
            Assert.True(s.GetProperty("train/aux_loss").GetSingle() > 0, "a MoE run has an aux loss");
        }
    }
}

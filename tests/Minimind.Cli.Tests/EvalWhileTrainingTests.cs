using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;
using Minimind.Training;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// `train --eval-data/--eval-interval/--eval-batches` and `--sample-prompts/--sample-interval` (issue 24 items 1-2): the trained bits
/// are those of a run without them, the logged val_loss equals `minimind eval`'s loss of the saved weights on the same rows,
/// W = 2 ranks log the same val_loss bits as one process, a SIGKILLed run resumed with validation on ends bit-identical
/// (its val losses included), and TensorBoard holds val/loss and the samples' text (read by tools/tensorboard/read_events.py).
/// </summary>
public sealed class EvalWhileTrainingTests
{
    private const int Steps = 6;
    private static readonly string[] Buffers = { "model.f32", "adam_m.f32", "adam_v.f32" };

    private static (string Held, string Prompts) Inputs(string dir)
    {
        string held = Path.Combine(dir, "held.jsonl"), prompts = Path.Combine(dir, "prompts.txt");
        File.WriteAllLines(held, Enumerable.Range(0, 11).Select(i => $"{{\"text\": \"The {i} cat sat on {i + 2} mats, then {i * 3} more.\"}}"));
        File.WriteAllLines(prompts, new[] { "Hello", "", "What is 2 + 3?" });
        return (held, prompts);
    }

    private static string[] Args(string outDir, params string[] extra) => new[]
    {
        "train", "--device", "cpu", "--max-seq-len", "48", "--batch-size", "4", "--accumulation-steps", "2", "--max-steps", Steps.ToString(),
        "--save-interval", "3", "--log-interval", "1", "--save-dtype", "f32", "--seed", "9", "--out-dir", outDir,
    }.Concat(extra).ToArray();

    private static string[] EvalArgs(string dir) =>
        new[] { "--eval-data", Inputs(dir).Held, "--eval-interval", "2", "--eval-batches", "2", "--sample-prompts", Inputs(dir).Prompts, "--sample-interval", "3", "--sample-tokens", "8" };

    private static string Root(string outDir) => Path.Combine(outDir, "checkpoints", "pretrain_64");

    private static Dictionary<string, byte[]> Buffered(string outDir)
    {
        var dir = Path.Combine(Root(outDir), ResumeStore.FolderName(Steps));
        Assert.Null(ResumeStore.Verify(dir, out _));
        return Buffers.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));
    }

    private static TrainingState State(string outDir)
    {
        var dir = Path.Combine(Root(outDir), ResumeStore.FolderName(Steps));
        return TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(dir, "state.msgpack")), dir);
    }

    // The metrics lines holding `key`, by step (each step at most once).
    private static Dictionary<long, JsonElement> Lines(string outDir, string key)
    {
        var r = new Dictionary<long, JsonElement>();
        foreach (var line in File.ReadLines(Path.Combine(outDir, "checkpoints", "pretrain_64_metrics.jsonl")))
        {
            var e = JsonDocument.Parse(line).RootElement;
            if (e.TryGetProperty(key, out _)) Assert.True(r.TryAdd(e.GetProperty("step").GetInt64(), e.Clone()), $"step {e.GetProperty("step")} logged twice: {line}");
        }
        return r;
    }

    private static string Ok(params string[] args)
    {
        var (code, o) = CliProcess.Run(args);
        Assert.True(code == 0, o);
        return o;
    }

    [Fact]
    public void Validation_and_samples_leave_the_trained_bits_unchanged_and_are_logged()
    {
        using var d = new TempDir();
        string plain = Path.Combine(d.Path, "plain"), withEval = Path.Combine(d.Path, "eval");
        Ok(Args(plain));
        var o = Ok(Args(withEval, EvalArgs(d.Path).Concat(new[] { "--tensorboard", Path.Combine(withEval, "tb"), "--plot" }).ToArray()));
        var a = Buffered(plain);
        var b = Buffered(withEval);
        foreach (var f in Buffers) Assert.True(a[f].AsSpan().SequenceEqual(b[f]), $"{f} differs with validation and samples on");
        Assert.Equal(State(plain).Losses.Select(BitConverter.SingleToInt32Bits), State(withEval).Losses.Select(BitConverter.SingleToInt32Bits));

        // val_loss at every 2nd step and the last; 2 batches of 4 rows of the 11
        var val = Lines(withEval, "val_loss");
        Assert.Equal(new long[] { 2, 4, 6 }, val.Keys.Order());
        Assert.All(val.Values, v => Assert.Equal(8, v.GetProperty("val_rows").GetInt64()));
        Assert.All(val.Values, v => Assert.Equal(Math.Exp(v.GetProperty("val_loss").GetDouble()), v.GetProperty("val_perplexity").GetDouble(), 12));
        Assert.Equal(val.OrderBy(v => v.Key).Select(v => (v.Key, v.Value.GetProperty("val_loss").GetDouble())), State(withEval).ValLosses);
        Assert.Contains("step 2: val_loss ", o);
        Assert.Contains("rows every 2 steps and at the end", o);
        // samples at steps 3 and 6: both non-blank prompts, greedy continuations of at most 8 tokens
        var samples = Lines(withEval, "samples");
        Assert.Equal(new long[] { 3, 6 }, samples.Keys.Order());
        foreach (var s in samples.Values)
        {
            var list = s.GetProperty("samples").EnumerateArray().ToList();
            Assert.Equal(new[] { "Hello", "What is 2 + 3?" }, list.Select(x => x.GetProperty("prompt").GetString()));
            Assert.All(list, x => Assert.InRange(x.GetProperty("tokens").GetInt32(), 0, 8));
        }
        Assert.Contains("step 3 sample: Hello → ", o);
        Assert.True(File.Exists(Path.Combine(withEval, "pretrain_64_loss.png")));

        // TensorBoard: val/loss at the same steps and values (float32), the samples as text
        if (!File.Exists(TestEnvironment.Python)) return;
        var events = ReadEvents(Directory.GetFiles(Path.Combine(withEval, "tb")).Single());
        var tbVal = events.Where(e => e.GetProperty("scalars").TryGetProperty("val/loss", out _))
            .ToDictionary(e => e.GetProperty("step").GetInt64(), e => e.GetProperty("scalars").GetProperty("val/loss").GetSingle());
        Assert.Equal(val.ToDictionary(v => v.Key, v => (float)v.Value.GetProperty("val_loss").GetDouble()), tbVal);
        var texts = events.Where(e => e.TryGetProperty("texts", out _)).ToList();
        Assert.Equal(new long[] { 3, 6 }, texts.Select(e => e.GetProperty("step").GetInt64()));
        var first = samples[3].GetProperty("samples")[0];
        Assert.Equal("Hello → " + first.GetProperty("text").GetString(), texts[0].GetProperty("texts").GetProperty("samples/0").GetString());
    }

    private static List<JsonElement> ReadEvents(string file)
    {
        var psi = new ProcessStartInfo(TestEnvironment.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "tools", "tensorboard", "read_events.py"));
        psi.ArgumentList.Add(file);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var json = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err.Result);
        return JsonDocument.Parse(json).RootElement.GetProperty("files").EnumerateObject().Single().Value.GetProperty("events").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    // The independent check of the number: `minimind eval` loads the saved .pth (f32: the trained weights exactly) and scores the
    // same rows in batches of the same size; its loss (itself checked against PyTorch in HeldOutEvaluationTests) must be the logged one.
    [Fact]
    public void Logged_val_loss_equals_the_eval_command_on_the_saved_weights()
    {
        using var d = new TempDir();
        string outDir = Path.Combine(d.Path, "run");
        var (held, _) = Inputs(d.Path);
        Ok(Args(outDir, "--eval-data", held, "--eval-interval", "3"));
        var val = Lines(outDir, "val_loss");
        Assert.Equal(new long[] { 3, 6 }, val.Keys.Order());
        var (code, stdout, stderr) = CliProcess.Exec(null, "eval", "--weights", Path.Combine(outDir, "pretrain_64.pth"), "--data", held,
            "--tokenizer", "byte", "--max-seq-len", "48", "--batch-size", "4", "--device", "cpu", "--json");
        Assert.True(code == 0, stderr);
        var json = JsonDocument.Parse(stdout.TrimEnd('\n').Split('\n')[^1]).RootElement;
        Assert.Equal(json.GetProperty("loss").GetDouble(), val[6].GetProperty("val_loss").GetDouble());
        Assert.Equal(json.GetProperty("tokens").GetInt64(), val[6].GetProperty("val_tokens").GetInt64());
        Assert.Equal(11, val[6].GetProperty("val_rows").GetInt64());
    }

    // Two ranks split the held-out batches and add the rows' sums in row order: the same val_loss bits as one process with the same G.
    [SkippableFact]
    public void Two_ranks_log_the_val_loss_bits_of_one_process()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var d = new TempDir();
        var (held, _) = Inputs(d.Path);
        string one = Path.Combine(d.Path, "w1"), two = Path.Combine(d.Path, "w2");
        string[] Ranked(string outDir, string accumulation)
        {
            var a = Args(outDir, "--eval-data", held, "--eval-interval", "2");
            a[Array.IndexOf(a, "--accumulation-steps") + 1] = accumulation;
            return a;
        }
        MpiRun.Start(new[] { Ranked(one, "2") }).Finish();
        MpiRun.Start(new[] { Ranked(two, "1"), Ranked(two, "1") }).Finish();
        static IEnumerable<(long, long)> Bits(Dictionary<long, JsonElement> v) =>
            v.OrderBy(x => x.Key).Select(x => (x.Key, BitConverter.DoubleToInt64Bits(x.Value.GetProperty("val_loss").GetDouble())));
        var w1 = Lines(one, "val_loss");
        Assert.Equal(3, w1.Count);
        Assert.Equal(Bits(w1), Bits(Lines(two, "val_loss")));
        Assert.Equal(State(one).ValLosses, State(two).ValLosses);
    }

    [Fact]
    public void Sigkill_and_resume_with_validation_on_is_bit_identical()
    {
        using var refDir = new TempDir();
        var extra = EvalArgs(refDir.Path);
        var args = Args(refDir.Path, extra);
        args[Array.IndexOf(args, "--save-interval") + 1] = "1";
        KillResumeTests.Finish(KillResumeTests.Start(args, false));
        var expected = KillResumeTests.FinalState(Root(refDir.Path), Steps);
        var expectedVal = Lines(refDir.Path, "val_loss").ToDictionary(v => v.Key, v => v.Value.GetProperty("val_loss").GetDouble());
        var expectedSamples = Lines(refDir.Path, "samples").ToDictionary(v => v.Key, v => v.Value.GetProperty("samples").GetRawText());

        using var d = new TempDir();
        var runArgs = Args(d.Path, extra);
        runArgs[Array.IndexOf(runArgs, "--save-interval") + 1] = "1";
        var rng = new Random(2024);
        int kills = 0;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var p = KillResumeTests.Start(runArgs, resume: true);
            var sw = Stopwatch.StartNew();
            int before = ResumeStore.ListSteps(Root(d.Path)).Count;
            while (!p.HasExited && ResumeStore.ListSteps(Root(d.Path)).Count <= before && sw.ElapsedMilliseconds < 60_000) Thread.Sleep(2);
            if (p.WaitForExit(rng.Next(0, 300))) break;
            KillResumeTests.KillNow(p);
            kills++;
        }
        var last = KillResumeTests.Finish(KillResumeTests.Start(runArgs, resume: true));
        Assert.True(kills > 0, "the run was never interrupted");
        Assert.DoesNotContain("DIFFERENT", last);
        KillResumeTests.AssertSame(expected, KillResumeTests.FinalState(Root(d.Path), Steps), $"validation on, after {kills} kills");
        Assert.Equal(expectedVal, Lines(d.Path, "val_loss").ToDictionary(v => v.Key, v => v.Value.GetProperty("val_loss").GetDouble()));
        Assert.Equal(expectedSamples, Lines(d.Path, "samples").ToDictionary(v => v.Key, v => v.Value.GetProperty("samples").GetRawText()));
    }

    [Theory]
    [InlineData("--eval-interval applies to the validation rows: give --eval-data FILE", "--eval-interval", "5")]
    [InlineData("--sample-tokens applies to the samples: give --sample-prompts FILE", "--sample-tokens", "5")]
    public void Evaluation_counts_without_their_file_are_refused(string message, params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => Commands.TrainCommand.Bind(new ArgParser(args, Commands.TrainCommand.Table)));
        Assert.Equal(message, e.Message);
    }
}

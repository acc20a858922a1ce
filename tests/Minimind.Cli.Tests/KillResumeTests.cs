using System.Diagnostics;
using Minimind.Checkpoint.Resume;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// The crash-safety contract end to end: the real CLI in a child process is SIGKILLed at seeded random
/// moments (and once exactly while a checkpoint is being written), resumed with --resume until it
/// finishes, and its final resume state must equal an uninterrupted run's byte for byte.
/// </summary>
public class KillResumeTests
{
    internal const int Steps = 14;

    internal static string[] Args(string outDir, string dtype = "fp32") => new[]
    {
        "train", "--device", "cpu", "--dtype", dtype, "--max-seq-len", "32", "--batch-size", "4", "--accumulation-steps", "2",
        "--max-steps", Steps.ToString(), "--save-interval", "1", "--log-interval", "1", "--keep-last", "2",
        "--save-dtype", "f32", "--seed", "5", "--out-dir", outDir,
    };

    private static readonly string[] StateFiles = { "model.f32", "adam_m.f32", "adam_v.f32", "state.msgpack" };

    private static Process Start(string outDir, bool resume, string dtype = "fp32") => Start(Args(outDir, dtype), resume);

    /// <summary>Starts <c>minimind ARGS [--resume]</c> in a child process, collecting its output.</summary>
    internal static Process Start(IEnumerable<string> args, bool resume)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(TestPaths.CliDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (resume) psi.ArgumentList.Add("--resume");
        psi.Environment["DOTNET_TieredPGO"] = "0";
        var p = new Process { StartInfo = psi };
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        Outputs[p] = output;
        return p;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Process, System.Text.StringBuilder> Outputs = new();

    /// <summary>Waits for the run to end; asserts exit code 0 and returns its output.</summary>
    internal static string Finish(Process p)
    {
        if (!p.WaitForExit(180_000)) { p.Kill(); throw new TimeoutException("minimind train did not finish in 180 s"); }
        p.WaitForExit();
        var o = Outputs[p].ToString();
        Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}:\n{o}");
        return o;
    }

    internal static string Root(string outDir) => Path.Combine(outDir, "checkpoints", "pretrain_64");

    private static Dictionary<string, byte[]> FinalState(string outDir) => FinalState(Root(outDir), Steps);

    /// <summary>The files of the verified step folder <paramref name="step"/> under <paramref name="root"/>.</summary>
    internal static Dictionary<string, byte[]> FinalState(string root, int step)
    {
        var dir = Path.Combine(root, ResumeStore.FolderName(step));
        Assert.Null(ResumeStore.Verify(dir, out _));
        return StateFiles.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));
    }

    internal static void AssertSame(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual, string what)
    {
        foreach (var f in StateFiles) Assert.True(expected[f].AsSpan().SequenceEqual(actual[f]), $"{what}: {f} differs from the uninterrupted run");
    }

    private const int SIGINT = 2;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    private static readonly Lazy<Dictionary<string, byte[]>> Reference = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "mm-train-ref-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try { Finish(Start(dir, false)); return FinalState(dir); }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    });

    [Fact]
    public void SecondCtrlCExitsAtOnceAndTheLastCheckpointStillResumesExactly()
    {
        var expected = Reference.Value;
        using var d = new TempDir();
        var p = Start(d.Path, resume: false);
        WaitForCheckpoints(p, d.Path, 2);
        Assert.Equal(0, SysKill(p.Id, SIGINT));
        Thread.Sleep(5);
        SysKill(p.Id, SIGINT);
        Assert.True(p.WaitForExit(60_000));
        p.WaitForExit();
        var o = Outputs[p].ToString();
        // 130 when the second signal landed before the stop completed, 0 when the stop had already finished.
        Assert.True(p.ExitCode is 130 or 0, $"exit code {p.ExitCode}:\n{o}");
        if (p.ExitCode == 130) Assert.Contains("exiting now; the last completed checkpoint is untouched", o);
        Assert.NotNull(ResumeStore.FindNewestValid(Root(d.Path)));
        Finish(Start(d.Path, resume: true));
        AssertSame(expected, FinalState(d.Path), "after a double Ctrl+C");
    }

    /// <summary>Waits (a minute at most) until the run has committed <paramref name="count"/> checkpoints; asserts it is still running.</summary>
    private static void WaitForCheckpoints(Process p, string dir, int count)
    {
        var sw = Stopwatch.StartNew();
        while (!p.HasExited && ResumeStore.ListSteps(Root(dir)).Count < count && sw.ElapsedMilliseconds < 60_000) Thread.Sleep(2);
        Assert.False(p.HasExited, "the run ended before it could be interrupted");
    }

    internal static void KillNow(Process p)
    {
        try { p.Kill(); } catch (InvalidOperationException) { }
        p.WaitForExit();
    }

    [Fact]
    public void SigkillAtRandomMomentsThenResumeIsBitExact()
    {
        var expected = Reference.Value;

        var rng = new Random(20261128);
        for (int trial = 0; trial < 3; trial++)
        {
            using var d = new TempDir();
            int kills = 0;
            // Trial 0 kills while a checkpoint folder is being written (a .tmp_ folder exists); others at random times.
            for (int attempt = 0; attempt < 2; attempt++)
            {
                var p = Start(d.Path, resume: true);
                if (trial == 0 && attempt == 0)
                {
                    var sw = Stopwatch.StartNew();
                    while (!p.HasExited && sw.ElapsedMilliseconds < 60_000)
                    {
                        if (Directory.Exists(Root(d.Path)) && Directory.EnumerateDirectories(Root(d.Path), ".tmp_*").Any()
                            && ResumeStore.ListSteps(Root(d.Path)).Count > 0)
                        { KillNow(p); kills++; break; }
                        Thread.Sleep(1);
                    }
                    Assert.True(kills == 1, "never caught the trainer during a checkpoint write");
                    // The interrupted write left no committed folder that fails to verify.
                    Assert.NotNull(ResumeStore.FindNewestValid(Root(d.Path)));
                    continue;
                }
                if (p.WaitForExit(rng.Next(400, 2500))) break;
                KillNow(p);
                kills++;
            }
            var o = Finish(Start(d.Path, resume: true));
            AssertSame(expected, FinalState(d.Path), $"trial {trial} ({kills} kills)");
            if (o.Contains("resumed from") && !o.Contains("nothing to do")) Assert.Contains("resume check:", o);
        }
    }

    /// <summary>Exact resume per autocast dtype: the rounded operands and (fp16) the GradScaler state survive a SIGKILL.</summary>
    [Theory]
    [InlineData("bf16", 11)]
    [InlineData("fp16", 12)]
    public void SigkillThenResumeIsBitExact_PerDtype(string dtype, int seed)
    {
        Dictionary<string, byte[]> expected;
        using (var r = new TempDir()) { Finish(Start(r.Path, false, dtype)); expected = FinalState(r.Path); }
        // The dtype changes the numbers: the fp32 reference must differ, or this test would not see the rounding.
        Assert.False(expected["model.f32"].AsSpan().SequenceEqual(Reference.Value["model.f32"]), $"{dtype} run equals the fp32 run");
        using var d = new TempDir();
        var rng = new Random(seed);
        var p = Start(d.Path, resume: true, dtype);
        if (!p.WaitForExit(rng.Next(400, 2500))) KillNow(p);
        Finish(Start(d.Path, resume: true, dtype));
        AssertSame(expected, FinalState(d.Path), $"{dtype} after a SIGKILL");
    }

    [Fact]
    public void CtrlCWritesACheckpointAndExitsZeroThenResumeIsBitExact()
    {
        var expected = Reference.Value;

        using var d = new TempDir();
        var p = Start(d.Path, resume: false);
        WaitForCheckpoints(p, d.Path, 1);
        Assert.Equal(0, SysKill(p.Id, SIGINT));
        var o = Finish(p);
        Assert.Contains("resume with: minimind train", o);
        Assert.Contains("--resume", o);
        Assert.Contains("stopped at step", o);
        var o2 = Finish(Start(d.Path, resume: true));
        Assert.Contains("resume check: first batch loss", o2);
        Assert.Contains("identical", o2);
        AssertSame(expected, FinalState(d.Path), "after Ctrl+C");

        // A damaged newest checkpoint: --resume says so, falls back to the previous one and recomputes the same result.
        var newest = Path.Combine(Root(d.Path), ResumeStore.FolderName(Steps));
        var w = Path.Combine(newest, "model.f32");
        using (var fs = new FileStream(w, FileMode.Open)) fs.SetLength(fs.Length - 8);
        var o3 = Finish(Start(d.Path, resume: true));
        Assert.Contains($"checkpoint {ResumeStore.FolderName(Steps)} is damaged", o3);
        Assert.Contains($"resumed from {Path.Combine(Root(d.Path), ResumeStore.FolderName(Steps - 1))}", o3);
        AssertSame(expected, FinalState(d.Path), "after falling back from a damaged checkpoint");
    }
}

/// <summary>Command-line failures of <c>minimind train</c> are clear and leave earlier checkpoints alone.</summary>
public class TrainCommandErrorTests
{
    private static (int Code, string Output) Run(params string[] args) => CliProcess.Run(args);

    [Fact]
    public void UnwritableOutputKeepsThePreviousCheckpointAndSaysWhy()
    {
        using var d = new TempDir();
        string[] common = { "train", "--device", "cpu", "--max-seq-len", "24", "--batch-size", "2", "--save-interval", "2",
            "--save-dtype", "f32", "--dim", "32", "--n-layers", "1", "--out-dir", d.Path };
        var (code, o) = Run(common.Concat(new[] { "--max-steps", "4" }).ToArray());
        Assert.True(code == 0, o);
        var root = Path.Combine(d.Path, "checkpoints", "pretrain_32");
        var good = Path.Combine(root, "step_000002");
        Assert.Null(ResumeStore.Verify(good, out _));
        // Pretend the run died while committing step 4: its folder has no manifest, so --resume falls back to step 2.
        File.Delete(Path.Combine(root, "step_000004", ResumeStore.ManifestFileName));
        // Make the weight file's place unwritable for anyone (root included): a folder where the .pth goes.
        File.Delete(Path.Combine(d.Path, "pretrain_32.pth"));
        Directory.CreateDirectory(Path.Combine(d.Path, "pretrain_32.pth"));
        (code, o) = Run(common.Concat(new[] { "--resume", "--max-steps", "4" }).ToArray());
        Assert.True(code == 1, o);
        Assert.Contains("checkpoint step_000004 is damaged", o);
        Assert.Contains("error:", o);
        Assert.Contains("pretrain_32.pth", o);
        Assert.Null(ResumeStore.Verify(good, out _));

        // A different architecture asking to resume from this folder is refused with the differing field.
        (code, o) = Run(common.Select(a => a == "1" ? "2" : a).Concat(new[] { "--resume" }).ToArray());
        Assert.True(code == 1, o);
        Assert.Contains("n-layers: checkpoint 1, requested 2", o);
    }
}

/// <summary>Training from a jsonl file and from the token file 'minimind tokenize' makes of it is the same run.</summary>
public class TrainDataSourceTests
{
    internal static string Run(params string[] args)
    {
        var (code, o) = CliProcess.Run(args);
        Assert.True(code == 0, $"minimind {string.Join(' ', args)} exited {code}: {o}");
        return o;
    }

    [Fact]
    public void JsonlAndTokenFileGiveIdenticalWeights()
    {
        using var d = new TempDir();
        var jsonl = Path.Combine(d.Path, "d.jsonl");
        File.WriteAllLines(jsonl, Enumerable.Range(0, 20).Select(i => $"{{\"text\": \"sample {i}: {new string((char)('a' + i), i)} end\"}}"));
        var bin = Path.Combine(d.Path, "d.bin");
        Run("tokenize", "--data", jsonl, "--tokenizer", "byte", "--out", bin, "--max-seq-len", "32");
        string[] common = { "train", "--arch", "minimind-v1", "--dim", "32", "--n-layers", "1", "--vocab-size", "259", "--batch-size", "4",
            "--accumulation-steps", "2", "--device", "cpu", "--save-dtype", "f32", "--max-steps", "3" };
        Run(common.Concat(new[] { "--data", bin, "--out-dir", Path.Combine(d.Path, "b") }).ToArray());
        Run(common.Concat(new[] { "--data", jsonl, "--tokenizer", "byte", "--max-seq-len", "32", "--out-dir", Path.Combine(d.Path, "j") }).ToArray());
        foreach (var f in new[] { "model.f32", "adam_m.f32", "adam_v.f32" })
        {
            var a = File.ReadAllBytes(Path.Combine(d.Path, "b", "checkpoints", "pretrain_32", "step_000003", f));
            var b = File.ReadAllBytes(Path.Combine(d.Path, "j", "checkpoints", "pretrain_32", "step_000003", f));
            Assert.True(a.AsSpan().SequenceEqual(b), $"{f} differs between the token-file run and the jsonl run");
        }
    }
}

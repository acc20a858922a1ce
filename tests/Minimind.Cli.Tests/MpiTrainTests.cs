using System.Diagnostics;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;
using Minimind.Training;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Data-parallel training end to end under Open MPI's mpirun on the CPU: W = 2 against W = 1 with the
/// same G (bit-identical weights, AdamW moments and loss log), SIGKILL of one rank and resume at another
/// world size, ranks started differently refused before the first step, a hung rank named by a timeout.
/// </summary>
public class MpiTrainTests
{
    private const int Steps = 8;
    private static readonly string[] Buffers = { "model.f32", "adam_m.f32", "adam_v.f32" };

    private static string[] Args(string outDir, int accumulation, params string[] extra) => ArgsFor(outDir, accumulation, Steps, 1, extra);

    private static string[] ArgsFor(string outDir, int accumulation, int steps, int saveInterval, params string[] extra) => new[]
    {
        "train", "--device", "cpu", "--max-seq-len", "32", "--batch-size", "4", "--accumulation-steps", accumulation.ToString(),
        "--max-steps", steps.ToString(), "--save-interval", saveInterval.ToString(), "--log-interval", "1", "--keep-last", "2",
        "--save-dtype", "f32", "--seed", "5", "--out-dir", outDir,
    }.Concat(extra).ToArray();

    private static string[][] Ranks(int w, string[] args) => Enumerable.Repeat(args, w).ToArray();

    private static string Root(string outDir) => Path.Combine(outDir, "checkpoints", "pretrain_64");

    private sealed record Final(Dictionary<string, byte[]> Files, List<float> Losses);

    private static Final FinalState(string outDir)
    {
        var dir = Path.Combine(Root(outDir), ResumeStore.FolderName(Steps));
        Assert.Null(ResumeStore.Verify(dir, out _));
        var s = TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(dir, "state.msgpack")), dir);
        Assert.Equal(Steps, s.Losses.Count);
        return new Final(Buffers.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f))), s.Losses);
    }

    private static void AssertSame(Final expected, Final actual, string what)
    {
        foreach (var f in Buffers) Assert.True(expected.Files[f].AsSpan().SequenceEqual(actual.Files[f]), $"{what}: {f} differs");
        Assert.Equal(expected.Losses.Select(BitConverter.SingleToInt32Bits), actual.Losses.Select(BitConverter.SingleToInt32Bits));
    }

    // One process, G = 2 micro-batches per step: the run every data-parallel run here must equal.
    private static readonly Lazy<Final> Reference = new(() =>
    {
        using var d = new TempDir();
        MpiRun.Start(new[] { Args(d.Path, 2) }).Finish();
        return FinalState(d.Path);
    });

    [SkippableFact]
    public void TwoRanksEqualOneProcessWithTheSameG()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var d = new TempDir();
        var o = MpiRun.Start(Ranks(2, Args(d.Path, 1))).Finish();
        Assert.Contains("data parallel: world size 2", o);
        Assert.Contains("bit-identical to any power-of-two world size", o);
        Assert.Contains("tok/s/rank", o);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(o, "^done: ", System.Text.RegularExpressions.RegexOptions.Multiline)); // rank 0 speaks alone
        AssertSame(Reference.Value, FinalState(d.Path), "W=2 x 1 vs W=1 x 2");
        // G = 2 cannot be kept on three ranks: refused, saying why.
        var r3 = MpiRun.Start(Ranks(3, Args(d.Path, 1, "--resume")));
        Assert.NotEqual(0, r3.Wait());
        Assert.Contains("world size 3 does not divide 2", r3.Output);
    }

    [SkippableFact]
    public void FourTwoAndOneRanksWithGFourAreBitIdentical()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        // G = 4 with an epoch tail: 1500 samples / batch 4 = 375 micro-batches, so step 94 of epoch 1 has 3 of 4 (rank 3 has none at W = 4).
        Final Run(int w)
        {
            using var d = new TempDir();
            var a = ArgsFor(d.Path, 4 / w, 96, 1000);
            (w == 1 ? MpiRun.Start(new[] { a }) : MpiRun.Start(Ranks(w, a))).Finish();
            var dir = Path.Combine(Root(d.Path), ResumeStore.FolderName(96));
            Assert.Null(ResumeStore.Verify(dir, out _));
            var s = TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(dir, "state.msgpack")), dir);
            Assert.Equal((1, 8L), (s.Epoch, s.MicroStepInEpoch)); // 94 steps fill epoch 1 (the last with 3), two more take 8 of epoch 2
            return new Final(Buffers.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f))), s.Losses);
        }
        var one = Run(1);
        AssertSame(one, Run(2), "W=2 x 2 vs W=1 x 4");
        AssertSame(one, Run(4), "W=4 x 1 vs W=1 x 4");
    }

    [SkippableFact]
    public void SigkillOfOneRankThenResumeAtOneOrTwoRanksIsBitExact()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        var expected = Reference.Value;
        var rng = new Random(20261201);
        for (int trial = 0; trial < 3; trial++)
        {
            // Trials 0 and 1 kill during a checkpoint write (rank 0, the writer; rank 1, waiting at the commit barrier), trial 2 at a random moment.
            int victim = trial == 2 ? rng.Next(2) : trial;
            int delay = rng.Next(300, 3000);
            TempDir? d = null;
            MpiRun? job = null;
            bool killed = false;
            // A moment can be missed (a fast machine finishes the job, or a .tmp_ folder lives between two polls):
            // then the attempt is thrown away and retried in a fresh folder with a shorter delay; every trial must kill once.
            for (int attempt = 0; attempt < 6 && !killed; attempt++, delay /= 2)
            {
                d?.Dispose();
                d = new TempDir();
                job = MpiRun.Start(Ranks(2, Args(d.Path, 1, "--resume")));
                var sw = Stopwatch.StartNew();
                while (!job.Process.HasExited && sw.ElapsedMilliseconds < 120_000)
                {
                    bool moment = trial < 2
                        ? Directory.Exists(Root(d.Path)) && ResumeStore.ListSteps(Root(d.Path)).Count > 0 && Directory.EnumerateDirectories(Root(d.Path), ".tmp_*").Any()
                        : ResumeStore.ListSteps(Root(d.Path)).Count > 0 && sw.ElapsedMilliseconds > delay;
                    if (moment && job.RankPid(victim) is int pid)
                    {
                        Process.GetProcessById(pid).Kill();
                        killed = true;
                        break;
                    }
                    Thread.Sleep(1);
                }
                if (!killed) job.Wait(120);
            }
            using var dir = d!;
            Assert.True(killed, $"trial {trial}: never caught the job at the chosen moment in 6 attempts:\n{job!.Output}");
            // mpirun ends the whole job when one rank dies.
            Assert.NotEqual(0, job!.Wait(120));
            // Nothing half-committed: every step folder verifies, none is newer than the last complete step.
            foreach (var c in ResumeStore.ListSteps(Root(dir.Path))) Assert.Null(ResumeStore.Verify(c.Path, out _));
            Assert.NotNull(ResumeStore.FindNewestValid(Root(dir.Path)));
            // Resume alternately at W = 1 (accumulation becomes 2) and W = 2, killing nothing more.
            var resumeArgs = Args(dir.Path, 1, "--resume");
            string o = trial % 2 == 0
                ? MpiRun.Start(new[] { resumeArgs }).Finish()
                : MpiRun.Start(Ranks(2, resumeArgs)).Finish();
            if (trial % 2 == 0) Assert.Contains("--accumulation-steps becomes 2 on 1 rank(s)", o);
            Assert.Contains("resumed from", o);
            AssertSame(expected, FinalState(dir.Path), $"trial {trial} (killed rank {victim})");
        }
    }

    [SkippableFact]
    public void RanksWithDifferentSeedOrDataAreRefusedBeforeTheFirstStep()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var d = new TempDir();
        var a = Args(d.Path, 1);
        var b = Args(d.Path, 1).Select(x => x == "5" ? "6" : x).ToArray(); // --seed 6 on rank 1
        var job = MpiRun.Start(new[] { a, b });
        Assert.NotEqual(0, job.Wait(120));
        Assert.Contains("rank 1 was started with a different --seed than rank 0", job.Output);
        Assert.Empty(ResumeStore.ListSteps(Root(d.Path)));
        Assert.DoesNotContain("step 1/", job.Output);

        // Different data files with the same number of samples and shape.
        var f1 = Path.Combine(d.Path, "a.jsonl");
        var f2 = Path.Combine(d.Path, "b.jsonl");
        File.WriteAllLines(f1, Enumerable.Range(0, 40).Select(i => $"{{\"text\": \"sample {i} of the first corpus\"}}"));
        File.WriteAllLines(f2, Enumerable.Range(0, 40).Select(i => $"{{\"text\": \"sample {i} of another corpus\"}}"));
        string[] WithData(string f) => Args(Path.Combine(d.Path, "out2"), 1, "--data", f, "--tokenizer", "byte", "--arch", "minimind-v1",
            "--dim", "64", "--n-layers", "1", "--n-heads", "4", "--n-kv-heads", "2", "--vocab-size", "259");
        var job2 = MpiRun.Start(new[] { WithData(f1), WithData(f2) });
        Assert.NotEqual(0, job2.Wait(120));
        Assert.Contains("rank 1 was started with a different data (--data) than rank 0", job2.Output);
        Assert.False(Directory.Exists(Root(Path.Combine(d.Path, "out2"))) && ResumeStore.ListSteps(Root(Path.Combine(d.Path, "out2"))).Count > 0);
    }

    [SkippableFact]
    public void ARankThatFailsToStartEndsTheJob()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var d = new TempDir();
        // Rank 1 dies before joining (a bad option); rank 0 must not train alone or wait forever.
        var job = MpiRun.Start(new[] { ArgsFor(d.Path, 1, 400, 1, "--dist-timeout", "20"), Args(d.Path, 1, "--no-such-option") });
        Assert.NotEqual(0, job.Wait(120));
        Assert.Contains("--no-such-option", job.Output);
        Assert.Empty(ResumeStore.ListSteps(Root(d.Path)));
    }

    [SkippableFact]
    public void AHungRankIsNamedByTheTimeoutAndTheJobEnds()
    {
        TestEnvironment.RequireTool(MpiRun.Mpirun is not null, MpiRun.Missing);
        using var d = new TempDir();
        var job = MpiRun.Start(Ranks(2, ArgsFor(d.Path, 1, 400, 1, "--dist-timeout", "3")));
        var sw = Stopwatch.StartNew();
        while (ResumeStore.ListSteps(Root(d.Path)).Count == 0 && !job.Process.HasExited && sw.ElapsedMilliseconds < 120_000) Thread.Sleep(5);
        int pid = job.RankPid(1) ?? throw new InvalidOperationException("rank 1 not found:\n" + job.Output);
        Assert.Equal(0, SysKill(pid, SIGSTOP)); // rank 1 stops answering, as a hang would
        Assert.NotEqual(0, job.Wait(120));
        Assert.Contains("error: rank 0: rank 1 did not answer within 3 s", job.Output);
    }

    [Fact]
    public void AMissingLibraryWithSeveralRanksNamesThePackage()
    {
        using var d = new TempDir();
        var job = MpiRun.Start(new[] { Args(d.Path, 1) }, env: new Dictionary<string, string>
        {
            ["OMPI_COMM_WORLD_SIZE"] = "2", ["OMPI_COMM_WORLD_RANK"] = "0", ["MINIMIND_MPI_LIB"] = "/nonexistent/libmpi.so.40",
        });
        Assert.Equal(1, job.Wait(120));
        Assert.Contains("install openmpi-bin libopenmpi-dev", job.Output);
    }

    private const int SIGSTOP = 19;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);
}

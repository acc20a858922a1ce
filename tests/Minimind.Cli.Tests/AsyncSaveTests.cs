using System.Diagnostics;
using System.Text.Json;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// --async-save (the default) writes checkpoints on a background thread: the same bytes as a synchronous save for every
/// stage, folders that verify whenever a SIGKILL lands during a background write, and a disk that fills during one
/// stops the run with the path, leaving the previous files as they were. The reference is --async-save false, today's
/// synchronous save (itself held to PyTorch and to the uninterrupted run by the other tests).
/// </summary>
public class AsyncSaveTests
{
    private static readonly string[] StateFiles = { "model.f32", "adam_m.f32", "adam_v.f32", "state.msgpack" };

    private static string[] Args(string stage, string outDir) => stage == "pretrain"
        ? KillResumeTests.Args(outDir)
        : StageKillResumeTests.Args(stage, outDir);

    private static (string Root, int Steps, string Pth) Layout(string stage, string outDir) => stage == "pretrain"
        ? (KillResumeTests.Root(outDir), KillResumeTests.Steps, Path.Combine(outDir, "pretrain_64.pth"))
        : (StageKillResumeTests.Root(stage, outDir), StageKillResumeTests.Steps, Path.Combine(outDir, Path.GetFileName(StageKillResumeTests.Root(stage, outDir)) + ".pth"));

    // The "save" records of a run's metrics.jsonl.
    private static List<JsonElement> SaveRecords(string root) =>
        File.ReadLines(root + "_metrics.jsonl").Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("event", out var ev) && ev.GetString() == "save").ToList();

    [Theory]
    [InlineData("pretrain")]
    [InlineData("sft")]
    [InlineData("lora")]
    [InlineData("dpo")]
    [InlineData("distill")]
    public void AsyncAndSyncSavesWriteTheSameBitsForEveryStage(string stage)
    {
        using var syncDir = new TempDir();
        using var asyncDir = new TempDir();
        var so = KillResumeTests.Finish(KillResumeTests.Start(Args(stage, syncDir.Path).Concat(new[] { "--async-save", "false" }), false));
        var ao = KillResumeTests.Finish(KillResumeTests.Start(Args(stage, asyncDir.Path), false)); // the default
        var (sRoot, steps, sPth) = Layout(stage, syncDir.Path);
        var (aRoot, _, aPth) = Layout(stage, asyncDir.Path);

        // Every step saved (--save-interval 1): the async run said what training waited for and what the write took.
        Assert.DoesNotContain("writing it in the background", so);
        Assert.Contains($"step {steps}: checkpoint snapshot taken, training blocked", ao);
        Assert.Contains($"saved step {steps}: ", ao);
        Assert.Contains("written in the background in", ao);

        // The final resume state (weights, AdamW moments, counters with the loss log) and the .pth: byte for byte.
        KillResumeTests.AssertSame(KillResumeTests.FinalState(sRoot, steps), KillResumeTests.FinalState(aRoot, steps), $"{stage}: async vs sync");
        Assert.True(File.ReadAllBytes(sPth).AsSpan().SequenceEqual(File.ReadAllBytes(aPth)), $"{stage}: the .pth differs between async and sync saving");
        // The same folders kept (--keep-last 2), each verifying.
        var kept = ResumeStore.ListSteps(aRoot).Select(c => c.Step).ToArray();
        Assert.Equal(ResumeStore.ListSteps(sRoot).Select(c => c.Step), kept);
        foreach (var c in ResumeStore.ListSteps(aRoot)) Assert.Null(ResumeStore.Verify(c.Path, out _));

        // The metrics log records every save: its mode, the time training was blocked and the write's own time.
        foreach (var (root, isAsync) in new[] { (sRoot, false), (aRoot, true) })
        {
            var saves = SaveRecords(root);
            Assert.Equal(Enumerable.Range(1, steps).Select(i => (long)i), saves.Select(e => e.GetProperty("step").GetInt64()));
            foreach (var e in saves)
            {
                Assert.Equal(isAsync, e.GetProperty("async").GetBoolean());
                Assert.True(e.GetProperty("blocked_s").GetDouble() >= 0 && e.GetProperty("write_s").GetDouble() > 0, e.ToString());
                // A synchronous save blocks training for its whole write.
                if (!isAsync) Assert.True(e.GetProperty("blocked_s").GetDouble() >= e.GetProperty("write_s").GetDouble(), e.ToString());
            }
        }
    }

    [Fact]
    public void SigkillDuringBackgroundWritesLeavesOnlyVerifiedFoldersAndResumeIsBitExact()
    {
        using var refDir = new TempDir();
        KillResumeTests.Finish(KillResumeTests.Start(Args("pretrain", refDir.Path).Concat(new[] { "--async-save", "false" }), false));
        var expected = KillResumeTests.FinalState(KillResumeTests.Root(refDir.Path), KillResumeTests.Steps);

        var rng = new Random(20261206);
        using var d = new TempDir();
        var root = KillResumeTests.Root(d.Path);
        int kills = 0;
        for (int trial = 0; trial < 5; trial++)
        {
            var p = KillResumeTests.Start(Args("pretrain", d.Path), resume: true);
            // This process's .tmp_ step folder exists only while its background thread writes one (the snapshot is taken
            // before): the kill lands during a background write after a committed one, after a random part of it.
            var sw = Stopwatch.StartNew();
            bool writing = false;
            while (!p.HasExited && sw.ElapsedMilliseconds < 120_000)
            {
                if (Directory.Exists(root) && Directory.EnumerateDirectories(root, $".tmp_*_{p.Id}_*").Any() && ResumeStore.ListSteps(root).Count > 0)
                { writing = true; break; }
                Thread.Sleep(1);
            }
            if (!writing) { Assert.True(p.WaitForExit(180_000)); break; } // the run finished first
            Thread.Sleep(rng.Next(0, 40));
            KillResumeTests.KillNow(p);
            kills++;
            // Whatever the moment: every committed folder verifies, and there is one to resume from.
            foreach (var c in ResumeStore.ListSteps(root)) Assert.True(ResumeStore.Verify(c.Path, out _) is null, $"trial {trial}: {c.Path} does not verify");
            Assert.NotNull(ResumeStore.FindNewestValid(root));
        }
        Assert.True(kills >= 2, $"only {kills} kills landed during a background write");
        var o = KillResumeTests.Finish(KillResumeTests.Start(Args("pretrain", d.Path), resume: true));
        if (!o.Contains("nothing to do")) Assert.Contains("-> identical", o);
        KillResumeTests.AssertSame(expected, KillResumeTests.FinalState(root, KillResumeTests.Steps), $"after {kills} kills during background writes");
    }

    [SkippableFact]
    public void DiskFullDuringABackgroundWriteStopsTheRunAndLeavesThePreviousFilesByteIdentical()
    {
        using var d = new TempDir();
        var mnt = Path.Combine(d.Path, "tmpfs");
        Directory.CreateDirectory(mnt);
        // 16 MiB of tmpfs: one save of the built-in model is about 1.9 MB (three float32 buffers + the f32 .pth).
        var (mcode, mout) = TestEnvironment.Run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt);
        Skip.If(mcode != 0, $"cannot mount a tmpfs here ({mout.Trim()}); the disk-full test needs root and mount permission (CI has both)");
        try
        {
            var outDir = Path.Combine(mnt, "out");
            var root = Path.Combine(outDir, "checkpoints", "pretrain_64");
            string[] run = { "train", "--device", "cpu", "--max-steps", "12", "--save-interval", "2", "--log-interval", "1", "--save-dtype", "f32", "--out-dir", outDir };
            var (code, o) = CliProcess.Run(run);
            Assert.True(code == 0, o);
            // Back to step 8 (--keep-last 3 left 8, 10, 12; as if the run had died after the step-8 save): the step-10 save will not fit.
            foreach (var step in new[] { 10, 12 }) Directory.Delete(Path.Combine(root, ResumeStore.FolderName(step)), true);
            var before = Directory.GetFiles(Path.Combine(root, "step_000008")).Append(Path.Combine(outDir, "pretrain_64.pth"))
                .ToDictionary(f => f, File.ReadAllBytes);

            // About 1 MiB left: the step-10 save is snapshotted, handed to the background thread, and runs out of space
            // half-way through its step folder while training goes on; the run stops at a later step boundary.
            long free = new DriveInfo(mnt).AvailableFreeSpace;
            File.WriteAllBytes(Path.Combine(mnt, "filler"), new byte[free - (1 << 20)]);
            (code, o) = CliProcess.Run(run.Concat(new[] { "--resume", "--no-space-check" }).ToArray());
            Assert.True(code == 1, $"exit {code}:\n{o}");
            Assert.Contains("step 10: checkpoint snapshot taken", o);
            Assert.Contains("the checkpoint of step 10 failed in the background write: could not write the resume state " + Path.Combine(root, "step_000010"), o);
            Assert.Contains("No space left on device", o);
            Assert.Contains("step_000008 is intact", o);
            Assert.DoesNotContain("saved step", o);
            foreach (var (f, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(f)), $"{f} changed");
            Assert.Equal(new long[] { 8 }, ResumeStore.ListSteps(root).Select(c => c.Step));
            var leftovers = Directory.EnumerateFileSystemEntries(mnt, "*", SearchOption.AllDirectories).Where(p => Path.GetFileName(p).StartsWith('.')).ToList();
            Assert.True(leftovers.Count == 0, "left behind: " + string.Join(", ", leftovers));
        }
        finally { TestEnvironment.Run("umount", "-l", mnt); }
    }

    [Fact]
    public void HelpStatesTheHostCopyAndHowToTurnItOff()
    {
        var (code, o) = CliProcess.Run("train", "--help");
        Assert.True(code == 0, o);
        o = System.Text.RegularExpressions.Regex.Replace(o, @"\s+", " "); // the help wraps its lines
        Assert.Contains("--async-save", o);
        Assert.Contains("12 bytes per trained parameter", o);
        Assert.Contains("'--async-save false' writes before training continues", o);
    }
}

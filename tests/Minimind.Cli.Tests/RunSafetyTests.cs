using System.Diagnostics;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Nothing saved is lost: a diverging run, two trainers on one folder, a disk that fills up mid-save — each
/// through the real CLI, checked on the files it leaves.
/// </summary>
public class RunSafetyTests
{
    private static string Root(string outDir, int dim = 64) => Path.Combine(outDir, "checkpoints", $"pretrain_{dim}");

    private static Dictionary<string, byte[]> Snapshot(params string[] paths) =>
        paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : new[] { p }).ToDictionary(f => f, File.ReadAllBytes);

    private static void AssertUnchanged(Dictionary<string, byte[]> before, string what)
    {
        foreach (var (f, bytes) in before)
        {
            Assert.True(File.Exists(f), $"{what}: {f} is gone");
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(f)), $"{what}: {f} changed");
        }
    }

    [Fact]
    public void DivergingRunStopsWithExitCode3AndKeepsAResumableFiniteCheckpointAndThePinnedOnes()
    {
        using var d = new TempDir();
        // lr 0.4 without clipping: steps 1-4 stay finite (loss 5.5, 3.9, 8.3, 9.9), step 5's weights give the next
        // batch 27.1, more than 3 x the median of the recent losses, so that save is refused and the run stops.
        string[] run = { "train", "--device", "cpu", "--learning-rate", "0.4", "--grad-clip", "0", "--max-steps", "30",
            "--save-interval", "1", "--keep-last", "1", "--keep-every", "2", "--save-dtype", "f32", "--out-dir", d.Path };
        var (code, o) = CliProcess.Run(run);
        Assert.True(code == 3, $"exit {code}:\n{o}");
        Assert.Contains("error: training diverged at step 5", o);
        Assert.Contains("is the last good state", o);
        var steps = ResumeStore.ListSteps(Root(d.Path)).Select(c => c.Step).ToArray();
        Assert.Equal(new long[] { 4, 2 }, steps); // keep-last 1 pruned 1 and 3; step 2 is pinned by --keep-every 2
        foreach (var s in steps)
        {
            var dir = Path.Combine(Root(d.Path), ResumeStore.FolderName(s));
            Assert.Null(ResumeStore.Verify(dir, out _));
            foreach (var f in new[] { "model.f32", "adam_m.f32", "adam_v.f32" })
            {
                var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(dir, f)));
                foreach (var x in floats) Assert.True(float.IsFinite(x), $"{dir}/{f} holds {x}");
            }
        }
        // The .pth is step 4's weights, not anything after it.
        var sd = StateDict.Read(Path.Combine(d.Path, "pretrain_64.pth"));
        var w = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(Root(d.Path), "step_000004", "model.f32"))).ToArray();
        Assert.Equal(w.AsSpan(0, 64 * 259).ToArray(), sd["tok_embeddings.weight"].ToFloat32());

        // --resume takes step 4, reproduces its recorded next-batch loss exactly, and the guard stops it again the same way.
        (code, o) = CliProcess.Run(run.Append("--resume").ToArray());
        Assert.True(code == 3, $"exit {code}:\n{o}");
        Assert.Contains("resumed from", o);
        Assert.Contains("step_000004: step 4/30", o);
        Assert.Contains("-> identical", o);
        Assert.Contains("error: training diverged at step 5", o);
        Assert.Equal(new long[] { 4, 2 }, ResumeStore.ListSteps(Root(d.Path)).Select(c => c.Step));
    }

    [Fact]
    public void HugeLearningRateSkipsNonFiniteStepsThenStopsWithoutSavingThem()
    {
        using var d = new TempDir();
        // The command: lr 1e6 turns the loss NaN at step 3; before, every save wrote NaN weights.
        var (code, o) = CliProcess.Run("train", "--device", "cpu", "--learning-rate", "1e6", "--grad-clip", "0", "--max-steps", "40",
            "--save-interval", "10", "--max-bad-steps", "3", "--out-dir", d.Path);
        Assert.True(code == 3, $"exit {code}:\n{o}");
        Assert.Contains("step 3: loss NaN is not finite: update skipped (1 in a row", o);
        Assert.Contains("3 consecutive steps with a non-finite loss or gradient norm (--max-bad-steps 3)", o);
        Assert.Contains("No checkpoint had been written yet", o);
        Assert.Empty(ResumeStore.ListSteps(Root(d.Path)));
        Assert.False(File.Exists(Path.Combine(d.Path, "pretrain_64.pth")));
    }

    [Fact]
    public void SecondTrainerOnTheSameFolderFailsAtOnceAndAKilledHolderNeverBlocksResume()
    {
        using var d = new TempDir();
        string[] run = { "train", "--device", "cpu", "--save-interval", "2", "--log-interval", "1", "--out-dir", d.Path };
        using var first = CliProcess.Start(run);
        var sw = Stopwatch.StartNew();
        while (!first.Process.HasExited && ResumeStore.ListSteps(Root(d.Path)).Count == 0 && sw.Elapsed.TotalSeconds < 120) Thread.Sleep(20);
        Assert.False(first.Process.HasExited, "the first run ended early:\n" + first.Output);

        var (code, o) = CliProcess.Run(run.Append("--resume").ToArray());
        Assert.True(code == 1, $"exit {code}:\n{o}");
        Assert.Contains("is in use by another training run", o);
        Assert.Contains($"PID {first.Process.Id}", o);
        Assert.Contains("train --device cpu --save-interval 2", o); // the holder's command line
        Assert.DoesNotContain("resumed from", o);
        Assert.DoesNotContain("step 1/", o);
        Assert.Contains("in use by a running trainer", CliProcess.Run("inspect", d.Path).Output);

        first.Process.Kill(); // SIGKILL: no chance to clean up; the OS drops the lock
        first.Process.WaitForExit();
        Assert.True(File.Exists(Path.Combine(Root(d.Path), RunLock.FileName)));
        (code, o) = CliProcess.Run(run.Concat(new[] { "--resume", "--max-steps", ResumeStore.ListSteps(Root(d.Path))[0].Step + 2 + "" }).ToArray());
        Assert.True(code == 0, $"exit {code}:\n{o}");
        Assert.Contains("resumed from", o);
        Assert.Contains("-> identical", o);
    }

    [SkippableFact]
    public void DiskFullMidSaveLeavesThePreviousFilesByteIdenticalAndNamesThePath()
    {
        using var d = new TempDir();
        var mnt = Path.Combine(d.Path, "tmpfs");
        Directory.CreateDirectory(mnt);
        // 8 MiB of tmpfs: one save of this model is about 1.9 MB (three float32 buffers + the f32 .pth).
        var (mcode, mout) = TestEnvironment.Run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt);
        Skip.If(mcode != 0, $"cannot mount a tmpfs here ({mout.Trim()}); the disk-full test needs root and mount permission (CI has both)");
        try
        {
            var outDir = Path.Combine(mnt, "out");
            string[] run = { "train", "--device", "cpu", "--save-interval", "2", "--save-dtype", "f32", "--out-dir", outDir };
            var (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "4" }).ToArray());
            Assert.True(code == 0, o);
            // Back to step 2 (as if the run had died before its step-4 save): the next save is the one that will not fit.
            Directory.Delete(Path.Combine(Root(outDir), "step_000004"), true);
            var before = Snapshot(Path.Combine(Root(outDir), "step_000002"), Path.Combine(outDir, "pretrain_64.pth"));

            // Leave about 1 MiB: the next save starts, then runs out of space half-way through its step folder.
            var filler = Path.Combine(mnt, "filler");
            long free = new DriveInfo(mnt).AvailableFreeSpace;
            File.WriteAllBytes(filler, new byte[free - (1 << 20)]);
            (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "4", "--resume", "--no-space-check" }).ToArray());
            Assert.True(code == 1, $"exit {code}:\n{o}");
            Assert.Contains("could not write the resume state " + Path.Combine(Root(outDir), "step_000004"), o);
            Assert.Contains("No space left on device", o);
            Assert.Contains("step_000002 is intact", o);
            AssertUnchanged(before, "after a disk-full save");
            Assert.Equal(new long[] { 2 }, ResumeStore.ListSteps(Root(outDir)).Select(c => c.Step));
            // No temporary file or folder is left behind anywhere in the filesystem.
            var leftovers = Directory.EnumerateFileSystemEntries(mnt, "*", SearchOption.AllDirectories)
                .Where(p => Path.GetFileName(p).StartsWith('.')).ToList();
            Assert.True(leftovers.Count == 0, "left behind: " + string.Join(", ", leftovers));

            // With the free-space check (the default) the same save is refused before anything is written.
            (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "4", "--resume" }).ToArray());
            Assert.True(code == 1, $"exit {code}:\n{o}");
            Assert.Contains($"not enough free space in {outDir}", o);
            Assert.Contains("Nothing was written", o);
            AssertUnchanged(before, "after a refused save");

            // Space back: the run continues from step 2.
            File.Delete(filler);
            (code, o) = CliProcess.Run(run.Concat(new[] { "--max-steps", "4", "--resume" }).ToArray());
            Assert.True(code == 0, $"exit {code}:\n{o}");
            Assert.Contains("-> identical", o);
            Assert.Null(ResumeStore.Verify(Path.Combine(Root(outDir), "step_000004"), out _));
        }
        finally { TestEnvironment.Run("umount", "-l", mnt); }
    }
}

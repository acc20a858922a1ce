using System.Diagnostics;
using System.Text.Json;
using Minimind.Tests;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// Messages that say what happened and nothing misleading: a diverged run's advice, a stage started after another,
/// a read-only folder, a lock held by an unrecorded process, data for a larger vocabulary, a finished run's inspect,
/// tokenizing progress, and output without control codes off a terminal. Each through the binary.
/// </summary>
public class TrainMessageTests
{
    [Fact]
    public void DivergedRunAdvisesOnlyWhatHelpsAndNoResumeWhenNothingWasSaved()
    {
        using var d = new TempDir();
        // lr 50 with the default clip (1.0): step 2's loss is a spike, before the first save (interval 100).
        var (code, o) = CliProcess.Run("train", "--device", "cpu", "--learning-rate", "50", "--save-interval", "100", "--max-steps", "30", "--out-dir", d.Path);
        Assert.True(code == 3, $"exit {code}:\n{o}");
        Assert.Contains("No checkpoint had been written yet", o);
        Assert.Contains("Lower --learning-rate (gradients are already clipped at --grad-clip 1) and start again.", o);
        Assert.DoesNotContain("enable --grad-clip", o);
        Assert.DoesNotContain("--resume", o);

        // Without clipping, and with a checkpoint to continue from: both remedies, and the resume command.
        (code, o) = CliProcess.Run("train", "--device", "cpu", "--learning-rate", "0.4", "--grad-clip", "0", "--max-steps", "30",
            "--save-interval", "1", "--out-dir", Path.Combine(d.Path, "b"));
        Assert.True(code == 3, $"exit {code}:\n{o}");
        Assert.Contains("Lower --learning-rate or enable --grad-clip", o);
        Assert.Contains("or continue from the last checkpoint with: minimind train", o);
    }

    [Fact]
    public void SftAfterADim64PretrainTakesTheArchitectureFromItsFileRecord()
    {
        using var d = new TempDir();
        var texts = ResumeChecksTests.WriteTexts(d.Path, "a.jsonl");
        var conv = Path.Combine(d.Path, "conv.jsonl");
        File.WriteAllLines(conv, Enumerable.Range(0, 40).Select(i => JsonSerializer.Serialize(new
        {
            conversations = new[] { new { role = "user", content = $"hi {i}" }, new { role = "assistant", content = $"hello there {i}" } },
        })));
        var outDir = Path.Combine(d.Path, "out");
        Assert.Equal(0, CliProcess.Run(ResumeChecksTests.Tiny(outDir, texts, "--max-steps", "2")).Code);
        string[] sft = { "train", "--device", "cpu", "--stage", "sft", "--data", conv, "--tokenizer", "byte", "--max-seq-len", "64", "--batch-size", "4",
            "--max-steps", "2", "--out-dir", outDir };
        // No --arch/--dim: the default would be minimind3 at dim 768 (pretrain_768.pth); the one pretrain_*.pth there decides.
        var (code, o) = CliProcess.Run(sft);
        Assert.True(code == 0, $"exit {code}:\n{o}");
        Assert.Contains("model: minimind-v1 dim 64, 1 layers, 4/2 heads, vocab 259", o);
        Assert.Contains($"initialised from {Path.Combine(outDir, "pretrain_64.pth")}", o);
        Assert.True(File.Exists(Path.Combine(outDir, "full_sft_64.pth")));
        Assert.DoesNotContain("pretrain_768", o);

        // Two candidates: refused, naming both, until --dim picks one.
        var args32 = ResumeChecksTests.Tiny(outDir, texts, "--max-steps", "2");
        args32[Array.IndexOf(args32, "--dim") + 1] = "32";
        Assert.Equal(0, CliProcess.Run(args32).Code);
        (code, o) = CliProcess.Run(sft.Concat(new[] { "--save-weight", "sft2" }).ToArray());
        Assert.True(code == 2, $"exit {code}:\n{o}");
        Assert.Contains($"--from-weight pretrain: {outDir} holds pretrain_32.pth, pretrain_64.pth; give --dim", o);
    }

    [SkippableFact]
    public void ReadOnlyOutputFolderIsReportedAsSuchNotAsInUseByADeadPid()
    {
        using var d = new TempDir();
        var mnt = Path.Combine(d.Path, "tmpfs");
        Directory.CreateDirectory(mnt);
        var (mcode, mout) = TestEnvironment.Run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt);
        Skip.If(mcode != 0, $"cannot mount a tmpfs here ({mout.Trim()}); the read-only test needs root and mount permission (CI has both)");
        try
        {
            string[] run = { "train", "--device", "cpu", "--max-steps", "2", "--out-dir", Path.Combine(mnt, "out") };
            var (code, o) = CliProcess.Run(run);
            Assert.True(code == 0, o);
            var (rcode, rout) = TestEnvironment.Run("mount", "-o", "remount,ro", mnt);
            Assert.True(rcode == 0, rout);
            (code, o) = CliProcess.Run(run.Append("--resume").ToArray());
            Assert.True(code == 1, $"exit {code}:\n{o}");
            Assert.Contains("The output folder is not writable", o);
            Assert.Contains("Read-only file system", o);
            Assert.DoesNotContain("in use by another training run", o);
        }
        finally { TestEnvironment.Run("umount", "-l", mnt); }
    }

    [SkippableFact]
    public void ALockHeldByAProcessThatDidNotRecordItselfIsNotBlamedOnTheDeadRecordedPid()
    {
        using var d = new TempDir();
        var root = Path.Combine(d.Path, "checkpoints", "pretrain_64");
        Directory.CreateDirectory(root);
        // A stale owner file naming a PID that is not running, and the lock held by another process (flock, as .NET takes it).
        const int deadPid = 4_000_000; // a PID no process has here (checked)
        Skip.If(File.Exists($"/proc/{deadPid}"), "the chosen PID runs here");
        File.WriteAllText(Path.Combine(root, "run.lock.owner"), $"pid {deadPid}\nstarted 2026-01-01T00:00:00Z\nhost {Environment.MachineName}\ncommand minimind train\n");
        var holder = Process.Start(new ProcessStartInfo("python3", new[] { "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)",
            Path.Combine(root, "run.lock") }) { RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("held", holder.StandardOutput.ReadLine());
            var (code, o) = CliProcess.Run("train", "--device", "cpu", "--max-steps", "2", "--out-dir", d.Path);
            Assert.True(code == 1, $"exit {code}:\n{o}");
            Assert.Contains("is in use by another training run, a process that did not record itself: the recorded owner, PID 4000000", o);
            Assert.Contains("is no longer running", o);
        }
        finally { holder.Kill(); holder.WaitForExit(); }
    }

    [Fact]
    public void DataForALargerVocabularyIsRefusedBeforeStep1NamingTheFileAndBothSizes()
    {
        using var d = new TempDir();
        var texts = ResumeChecksTests.WriteTexts(d.Path, "a.jsonl");
        var bin = Path.Combine(d.Path, "a.bin");
        var (code, o) = CliProcess.Run("tokenize", "--tokenizer", "byte", "--data", texts, "--out", bin, "--max-seq-len", "64");
        Assert.True(code == 0, o);
        // Byte-tokenized rows hold ids up to 258 (eos); a model of 100 ids has no embedding for them.
        var args = ResumeChecksTests.Tiny(Path.Combine(d.Path, "out"), bin);
        args[Array.IndexOf(args, "--vocab-size") + 1] = "100";
        args = args.Where((a, i) => a != "--tokenizer" && (i == 0 || args[i - 1] != "--tokenizer")).ToArray();
        (code, o) = CliProcess.Run(args);
        Assert.True(code == 1, $"exit {code}:\n{o}");
        Assert.Contains($"token file {bin} holds token id 258, but the model's vocabulary has 100 ids", o);
        Assert.Contains("at least 259", o);
        Assert.DoesNotContain("step 1/", o);

        // A jsonl with a tokenizer larger than the model: refused naming the tokenizer, the file and both sizes.
        args = ResumeChecksTests.Tiny(Path.Combine(d.Path, "out"), texts);
        args[Array.IndexOf(args, "--vocab-size") + 1] = "100";
        (code, o) = CliProcess.Run(args);
        Assert.True(code == 2, $"exit {code}:\n{o}");
        Assert.Contains($"--tokenizer byte has 259 ids, but the model's vocabulary has 100", o);
        Assert.Contains(texts, o);
    }

    [Fact]
    public void InspectOfAFinishedRunSaysCompleteWithoutAnEpochPastTheLastOrANaNLoss()
    {
        using var d = new TempDir();
        var texts = ResumeChecksTests.WriteTexts(d.Path, "a.jsonl");
        var outDir = Path.Combine(d.Path, "out");
        var args = ResumeChecksTests.Tiny(outDir, texts, "--epochs", "2");
        args[Array.IndexOf(args, "--batch-size") + 1] = "16"; // 4 steps an epoch, 8 in all
        args[Array.IndexOf(args, "--save-interval") + 1] = "100";
        Assert.Equal(0, CliProcess.Run(args).Code);
        var (code, o) = CliProcess.Run("inspect", Path.Combine(outDir, "checkpoints", "pretrain_64"));
        Assert.True(code == 0, o);
        Assert.Contains("step 8/8, complete (all 2 epochs)", o);
        Assert.DoesNotContain("epoch 3/2", o);
        Assert.DoesNotContain("NaN", o);
        Assert.DoesNotContain("next-batch loss", o);
    }

    [Fact]
    public void JsonlTokenizingProgressEndsWithTheCountOfEverySample()
    {
        using var d = new TempDir();
        // More lines than one encoder chunk (4096): the count printed while reading lags a chunk behind.
        var path = Path.Combine(d.Path, "many.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 5000).Select(i => JsonSerializer.Serialize(new { text = $"line {i}" })));
        var (code, o) = CliProcess.Run(ResumeChecksTests.Tiny(Path.Combine(d.Path, "out"), path, "--max-steps", "1"));
        Assert.True(code == 0, o);
        Assert.Contains($"tokenized {path}: 0.1 MB, 5000 samples", o);
        Assert.Contains("5,000 samples of 63 tokens", o);
    }

    [SkippableFact]
    public void OutputIntoAFileOrUnderMpirunHoldsNoCarriageReturnOrEscape()
    {
        using var d = new TempDir();
        foreach (var (name, mpirun) in new[] { ("plain", false), ("mpirun", true) })
        {
            if (mpirun) Skip.If(MpiRun.Mpirun is null, MpiRun.Missing);
            var log = Path.Combine(d.Path, name + ".log");
            string launcher = mpirun ? $"{MpiRun.Mpirun} --allow-run-as-root --oversubscribe -np 1 " : "";
            string cmd = $"{launcher}dotnet {TestPaths.CliDll} train --device cpu --max-steps 12 --log-interval 5 --out-dir {Path.Combine(d.Path, name)} > {log} 2>&1";
            var (code, o) = TestEnvironment.Run("/bin/sh", "-c", cmd);
            var text = File.ReadAllText(log);
            Assert.True(code == 0, $"{name}: exit {code}: {o}\n{text}");
            Assert.Contains("step 10/12", text);
            Assert.DoesNotContain('\r', text);
            Assert.DoesNotContain('\u001b', text);
        }
    }
}

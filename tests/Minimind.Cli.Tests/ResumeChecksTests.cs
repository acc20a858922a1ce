using System.Text.Json;
using Minimind.Checkpoint.Resume;
using Minimind.Training;
using Minimind.Training.Tests;

namespace Minimind.Cli.Tests;

/// <summary>
/// A resume continues the run that was saved, or refuses and says why: other data (by content), another architecture,
/// a MiniMind file of another architecture; a changed flag is printed as "changed:" with what happens to it. Each through the binary.
/// </summary>
public class ResumeChecksTests
{
    // 64 documents of words: with batch 4 and no accumulation, 16 steps an epoch.
    internal static string WriteTexts(string dir, string name, Func<List<string>, List<string>>? edit = null)
    {
        var rng = new Random(1);
        string[] words = { "alpha", "beta", "gamma", "delta", "epsilon" };
        var lines = Enumerable.Range(0, 64).Select(i => JsonSerializer.Serialize(new { text = $"document {i}: " + string.Join(' ', Enumerable.Range(0, 20).Select(_ => words[rng.Next(words.Length)])) })).ToList();
        var path = Path.Combine(dir, name);
        File.WriteAllLines(path, edit is null ? lines : edit(lines));
        return path;
    }

    internal static string[] Tiny(string outDir, string data, params string[] more) => new[]
    {
        "train", "--device", "cpu", "--data", data, "--tokenizer", "byte", "--arch", "minimind-v1", "--dim", "64", "--n-layers", "1",
        "--n-heads", "4", "--n-kv-heads", "2", "--vocab-size", "259", "--max-seq-len", "64", "--batch-size", "4", "--accumulation-steps", "1",
        "--save-interval", "2", "--out-dir", outDir,
    }.Concat(more).ToArray();

    private static string Root(string outDir, int dim = 64) => Path.Combine(outDir, "checkpoints", $"pretrain_{dim}");

    // Trains 4 steps and drops the step-4 folder, as if the run had been killed after its step-2 save.
    private static void TrainToStep2Of4(string outDir, string data)
    {
        var (code, o) = CliProcess.Run(Tiny(outDir, data, "--max-steps", "4"));
        Assert.True(code == 0, o);
        Directory.Delete(Path.Combine(Root(outDir), "step_000004"), true);
    }

    [Fact]
    public void ResumeOntoTheSameRowsShuffledOrOneRowEditedIsRefusedNamingTheFieldAndAllowDataChangeContinues()
    {
        using var d = new TempDir();
        var a = WriteTexts(d.Path, "a.jsonl");
        var shuffled = WriteTexts(d.Path, "shuffled.jsonl", l => Enumerable.Reverse(l).ToList()); // the same rows, another order
        var edited = WriteTexts(d.Path, "edited.jsonl", l => { l[10] = JsonSerializer.Serialize(new { text = "an edited row" }); return l; });
        var outDir = Path.Combine(d.Path, "out");
        TrainToStep2Of4(outDir, a);

        foreach (var other in new[] { shuffled, edited })
        {
            var (code, o) = CliProcess.Run(Tiny(outDir, other, "--max-steps", "4", "--resume"));
            Assert.True(code == 1, $"{other}: exit {code}:\n{o}");
            Assert.Contains("was trained on other data: its data_hash is sha256:", o);
            Assert.Contains($"(jsonl {a})", o);
            Assert.Contains($"(jsonl {other})", o);
            Assert.Contains("--allow-data-change", o);
            Assert.DoesNotContain("step 3/", o);
        }
        // The same data resumes as before.
        var before = File.ReadAllText(Path.Combine(outDir, "checkpoints", "pretrain_64_metrics.jsonl"));
        Assert.DoesNotContain("data_change", before);

        var (c2, o2) = CliProcess.Run(Tiny(outDir, shuffled, "--max-steps", "4", "--resume", "--allow-data-change"));
        Assert.True(c2 == 0, o2);
        Assert.Contains("note: --allow-data-change: continuing on other data", o2);
        Assert.Contains("step 4/4", o2);
        var events = File.ReadAllLines(Path.Combine(outDir, "checkpoints", "pretrain_64_metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("event", out var ev) && ev.GetString() == "data_change").ToList();
        Assert.Single(events);
        Assert.Equal($"jsonl {a}", events[0].GetProperty("from_data").GetString());
        Assert.Equal($"jsonl {shuffled}", events[0].GetProperty("data").GetString());
        Assert.Equal(2, events[0].GetProperty("step").GetInt64());
        // From then on the run is the shuffled data's: its step-4 state records that data, and the original is the "other" one now.
        var st = TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(Root(outDir), "step_000004", "state.msgpack")), "state");
        Assert.Equal($"jsonl {shuffled}", st.DataDescription);
        Assert.Equal(1, CliProcess.Run(Tiny(outDir, a, "--max-steps", "4", "--resume")).Code);
    }

    [Fact]
    public void ChangedFlagsOnResumeArePrintedAppliedOrKeptAndAChangedSeedKeepsTheDataOrder()
    {
        using var d = new TempDir();
        var a = WriteTexts(d.Path, "a.jsonl");
        var reference = Path.Combine(d.Path, "ref");
        Assert.Equal(0, CliProcess.Run(Tiny(reference, a, "--max-steps", "4", "--seed", "5")).Code);
        var outDir = Path.Combine(d.Path, "out");
        Assert.Equal(0, CliProcess.Run(Tiny(outDir, a, "--max-steps", "4", "--seed", "5")).Code);
        Directory.Delete(Path.Combine(Root(outDir), "step_000004"), true);

        // --seed and --epochs are the run's: kept (and the step-4 weights equal the uninterrupted run's, bit for bit).
        var (code, o) = CliProcess.Run(Tiny(outDir, a, "--max-steps", "4", "--seed", "9", "--epochs", "7", "--resume"));
        Assert.True(code == 0, o);
        Assert.Contains("changed: --seed 5 → 9 (kept 5: the data order continues the checkpoint's)", o);
        Assert.Contains("changed: --epochs 2 → 7 (kept 2: the schedule was fixed at 4 steps when the run started)", o);
        Assert.DoesNotContain("changed: --learning-rate", o);
        var step4 = Path.Combine("step_000004", "model.f32");
        Assert.Equal(File.ReadAllBytes(Path.Combine(Root(reference), step4)), File.ReadAllBytes(Path.Combine(Root(outDir), step4)));

        // --learning-rate and --grad-clip are applied from the next step, and said so.
        Directory.Delete(Path.Combine(Root(outDir), "step_000004"), true);
        (code, o) = CliProcess.Run(Tiny(outDir, a, "--max-steps", "4", "--seed", "5", "--learning-rate", "1e-3", "--grad-clip", "0.5", "--resume"));
        Assert.True(code == 0, o);
        Assert.Contains("changed: --learning-rate 0.0005 → 0.001 (applied: the cosine schedule continues from step 3 with the new peak", o);
        Assert.Contains("changed: --grad-clip 1 → 0.5 (applied from the next step)", o);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(Root(reference), step4)), File.ReadAllBytes(Path.Combine(Root(outDir), step4)));
        // The state records the values in force, so the next resume compares against them.
        var st = TrainingState.Deserialize(File.ReadAllBytes(Path.Combine(Root(outDir), "step_000004", "state.msgpack")), "state");
        Assert.Equal((1e-3, 0.5), (st.LearningRate, st.GradClip));
    }

    [Fact]
    public void ResumeWithAnotherDimRefusesNamingBothInsteadOfStartingFresh()
    {
        using var d = new TempDir();
        var a = WriteTexts(d.Path, "a.jsonl");
        var outDir = Path.Combine(d.Path, "out");
        Assert.Equal(0, CliProcess.Run(Tiny(outDir, a, "--max-steps", "2")).Code);
        var args = Tiny(outDir, a, "--max-steps", "4", "--resume");
        args[Array.IndexOf(args, "--dim") + 1] = "128";
        var (code, o) = CliProcess.Run(args);
        Assert.True(code == 1, $"exit {code}:\n{o}");
        Assert.Contains($"--resume: {Root(outDir, 128)} holds no checkpoint, but {Root(outDir)} holds a run of --save-weight pretrain (step 2)", o);
        Assert.Contains("dim: checkpoint 64, requested 128", o);
        Assert.DoesNotContain("starting a fresh run", o);
        Assert.Empty(ResumeStore.ListSteps(Root(outDir, 128)));
    }

    [Fact]
    public void MinimindResumeFileOfAnotherArchitectureSaysWrongArchitectureWithTheFields()
    {
        using var d = new TempDir();
        var a = WriteTexts(d.Path, "a.jsonl");
        var outDir = Path.Combine(d.Path, "out");
        Assert.Equal(0, CliProcess.Run(Tiny(outDir, a, "--max-steps", "2", "--export-minimind-resume")).Code);
        var file = Path.Combine(outDir, "checkpoints", "pretrain_64_resume.pth");
        var args = Tiny(Path.Combine(d.Path, "other"), a, "--resume-from", file);
        args[Array.IndexOf(args, "--n-layers") + 1] = "3";
        var (code, o) = CliProcess.Run(args);
        Assert.True(code == 1, $"exit {code}:\n{o}");
        Assert.Contains($"{file}: wrong architecture for this run: n-layers: file 1, this run 3", o);
        Assert.DoesNotContain("optimizer holds state", o);
    }

    [Fact]
    public void StepsPerEpochCountTheAccumulationInForceAfterAResumeKeepsTheCheckpointsG()
    {
        using var d = new TempDir();
        var a = WriteTexts(d.Path, "a.jsonl");
        var outDir = Path.Combine(d.Path, "out");
        var first = Tiny(outDir, a, "--max-steps", "4");
        first[Array.IndexOf(first, "--accumulation-steps") + 1] = "2";
        var (code, o) = CliProcess.Run(first);
        Assert.True(code == 0, o);
        // 64 samples / batch 4 = 16 micro-batches an epoch; G = 2 gives 8 optimizer steps an epoch.
        Assert.Contains("16 batches/epoch, 8 optimizer steps/epoch (2 micro-batches per step)", o);
        Directory.Delete(Path.Combine(Root(outDir), "step_000004"), true);
        (code, o) = CliProcess.Run(Tiny(outDir, a, "--max-steps", "4", "--resume")); // asks for accumulation 1
        Assert.True(code == 0, o);
        Assert.Contains("note: keeping the checkpoint's G = 2 micro-batches per step", o);
        Assert.Contains("16 batches/epoch, 8 optimizer steps/epoch (2 micro-batches per step)", o);
    }
}

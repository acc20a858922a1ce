using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Training.Checkpointing;
using Minimind.Training.Stages;

namespace Minimind.Training.Tests;

/// <summary>
/// Background saves (--async-save) in flight: a save whose write has not ended when the next save — or the run's last
/// one — comes is waited for, and the run says so (the log line and the next save's <c>waited_s</c> in the metrics);
/// and the resume check a background save takes from the next step's own forward equals the extra forward a
/// synchronous save computes, bit for bit, for a dense and a 3-layer MoE model (every committed folder compared).
/// </summary>
public class SaveInFlightTests
{
    /// <summary>A stage component with one file whose writer, for <paramref name="gatedStep"/>, waits until the test opens the gate.</summary>
    private sealed class GatedState(long gatedStep) : ICheckpointState
    {
        public ManualResetEventSlim Gate { get; } = new(false);
        public string Name => "gate";
        public long SnapshotBytes => 1;
        public CheckpointPart Snapshot(long step) => new(Name, new[]
        {
            new ResumeFile("gate.bin", s =>
            {
                // Not a timing assertion: a run that never says it waits would otherwise hang the test.
                if (step == gatedStep && !Gate.Wait(TimeSpan.FromMinutes(5)))
                    throw new IOException($"the run never said it waits for the checkpoint of step {step}");
                s.WriteByte((byte)step);
            }),
        });
        public void LoadFrom(string folder) { }
    }

    /// <summary><paramref name="inner"/> with <paramref name="extra"/> as its own checkpoint component.</summary>
    private sealed class WithState(ITrainingStage inner, ICheckpointState extra) : ITrainingStage
    {
        public string Name => inner.Name;
        public ModelConfig Config => inner.Config;
        public IBackend Backend => inner.Backend;
        public ParameterTable Parameters => inner.Parameters;
        public Tensor Weights => inner.Weights;
        public Tensor Gradients => inner.Gradients;
        public long Count => inner.Count;
        public int SeqLen => inner.SeqLen;
        public IReadOnlyList<KeyValuePair<string, string>> Signature => inner.Signature;
        public Batch CreateBatch(ReadOnlySpan<int> samples) => inner.CreateBatch(samples);
        public float ForwardBackward(Batch batch, float lossScale) => inner.ForwardBackward(batch, lossScale);
        public float ForwardLoss(Batch batch) => inner.ForwardLoss(batch);
        public IReadOnlyList<ICheckpointState> CheckpointStates => new[] { extra };
    }

    /// <summary>The run's log; opens the gate once the run announces that it waits for a write.</summary>
    private sealed class GateOpeningLog(ManualResetEventSlim gate) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains("waiting for the checkpoint of step") == true) gate.Set();
        }
    }

    private static ModelConfig Moe() => TrainerResumeTests.Tiny() with { NLayers = 3, UseMoe = true, NExperts = 4, TopK = 2, AuxAlpha = 0.01f };

    // One run of 4 steps (or maxSteps), every step saved, the step-gatedStep write held until the run says it waits.
    private static (Trainer Run, string Log) Train(string dir, ModelConfig config, bool asyncSave, long maxSteps, long gatedStep)
    {
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        using var model = MiniMindModel.Create(config, backend, 4, data.SeqLen);
        model.InitRandom(7);
        var gated = new GatedState(gatedStep);
        if (!asyncSave) gated.Gate.Set(); // a synchronous write cannot wait for a later step
        var log = new GateOpeningLog(gated.Gate);
        var opt = TrainerResumeTests.Options(dir) with { AccumulationSteps = 2, SaveInterval = 1, KeepLast = 100, MaxSteps = maxSteps, AsyncSave = asyncSave };
        var t = new Trainer(new WithState(new LanguageModelStage("pretrain", model, data), gated), opt, log, "test");
        Assert.Equal(TrainOutcome.Finished, t.Run(null, false));
        t.Dispose();
        return (t, log.ToString());
    }

    private static List<JsonElement> SaveRecords(Trainer t) =>
        File.ReadLines(t.Paths.MetricsPath).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("event", out var ev) && ev.GetString() == "save").ToList();

    [Theory]
    [InlineData(4L, 2L)] // the step-2 write is still running when the step-3 save comes
    [InlineData(3L, 2L)] // ... when the run's last save (step 3) comes
    public void ASaveStillWritingWhenTheNextOneComesIsWaitedForAndTheRunSaysSo(long maxSteps, long gatedStep)
    {
        using var d = new TempDir();
        var (t, log) = Train(d.Path, TrainerResumeTests.Tiny(), asyncSave: true, maxSteps, gatedStep);
        long next = gatedStep + 1;
        Assert.Contains($"step {next}: waiting for the checkpoint of step {gatedStep}, still being written in the background (one save in flight at most)", log);
        // The held write was reported once it ended, before the save that waited for it was taken.
        int saved = log.IndexOf($"saved step {gatedStep}: ", StringComparison.Ordinal);
        Assert.True(saved > log.IndexOf($"step {next}: waiting for the checkpoint", StringComparison.Ordinal), log);
        Assert.True(saved < log.IndexOf($"step {next}: checkpoint snapshot taken", StringComparison.Ordinal), log);

        // The metrics record the wait in the next save's record, and no wait elsewhere (nothing else was held).
        var saves = SaveRecords(t);
        Assert.Equal(Enumerable.Range(1, (int)maxSteps).Select(i => (long)i), saves.Select(e => e.GetProperty("step").GetInt64()));
        foreach (var e in saves)
        {
            Assert.True(e.GetProperty("async").GetBoolean());
            double waited = e.GetProperty("waited_s").GetDouble();
            if (e.GetProperty("step").GetInt64() == next) Assert.True(waited > 0, e.ToString());
        }
        // Every save committed and verifies, the held one included.
        Assert.Equal(Enumerable.Range(1, (int)maxSteps).Reverse().Select(i => (long)i), ResumeStore.ListSteps(t.Paths.CheckpointRoot).Select(c => c.Step));
        foreach (var c in ResumeStore.ListSteps(t.Paths.CheckpointRoot)) Assert.Null(ResumeStore.Verify(c.Path, out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheResumeCheckTakenFromTheNextStepEqualsTheSynchronousSavesForward(bool moe)
    {
        var config = moe ? Moe() : TrainerResumeTests.Tiny();
        using var a = new TempDir();
        using var s = new TempDir();
        var (ta, _) = Train(a.Path, config, asyncSave: true, maxSteps: 5, gatedStep: 0);
        var (ts, _) = Train(s.Path, config, asyncSave: false, maxSteps: 5, gatedStep: 0);
        var steps = ResumeStore.ListSteps(ts.Paths.CheckpointRoot);
        Assert.Equal(5, steps.Count);
        foreach (var c in steps)
        {
            var other = Path.Combine(ta.Paths.CheckpointRoot, Path.GetFileName(c.Path));
            foreach (var f in Directory.GetFiles(c.Path).Select(Path.GetFileName).Where(n => n != ResumeStore.ManifestFileName))
                Assert.True(File.ReadAllBytes(Path.Combine(c.Path, f!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(other, f!))),
                    $"{Path.GetFileName(c.Path)}/{f}: the background save differs from the synchronous one");
            var st = ResumeStateFolder.ReadState(c.Path);
            // Recorded for every step but the last (no next batch), so the comparison above covered real values.
            Assert.Equal(c.Step < 5, float.IsFinite(st.NextBatchLoss));
        }
    }
}

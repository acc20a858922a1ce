using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Training;
using Minimind.Training.Checkpointing;
using Minimind.Training.Stages;
using Minimind.Tests;

namespace Minimind.Training.Tests;

/// <summary>--dtype bf16/fp16 in the trainer: GradScaler's rules against torch's, an injected fp16 overflow skipping exactly
/// its step, the scaler state through the resume state and MiniMind's resume file.</summary>
public class MixedPrecisionTrainingTests
{
    // Overflow pattern: two in a row early, then a full growth interval, one more, then past another interval.
    private static string Flags() =>
        "0010" + "1" + new string('0', 2000) + "1" + new string('0', 1999) + "0" + "00";

    [SkippableFact]
    public void GradScalerRules_MatchTorchGradScaler()
    {
        var torch = TestEnvironment.Torch2;
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        string flags = Flags();
        var o = TestPaths.RunPython(torch, Path.Combine(TestPaths.RepoRoot, "tools", "training", "grad_scaler_sequence.py"), flags);
        var want = o.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(flags.Length, want.Length);
        var s = new GradScaler(enabled: true);
        for (int i = 0; i < flags.Length; i++)
        {
            s.Update(flags[i] == '1');
            string got = FormattableString.Invariant($"{s.Scale:F1} {s.GrowthTracker} {(flags[i] == '1' ? 1 : 0)}");
            Assert.True(want[i] == got, $"after update {i + 1}: torch '{want[i]}', ours '{got}'");
        }
    }

    /// <summary>Writes +inf into the first gradient element on chosen optimizer steps (1-based, counted by micro-batch 0).</summary>
    private sealed class OverflowAt(ITrainingStage inner, int accumulation, params long[] steps) : ITrainingStage
    {
        private long _calls;
        /// <summary>Also report a NaN loss on those steps (a real divergence, not a scaling overflow).</summary>
        public bool LossToo { get; init; }
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
        public float ForwardLoss(Batch batch) => inner.ForwardLoss(batch);
        public float ForwardBackward(Batch batch, float lossScale)
        {
            float l = inner.ForwardBackward(batch, lossScale);
            long step = _calls++ / accumulation + 1;
            if (!steps.Contains(step)) return l;
            CpuBackend.Span(inner.Gradients)[0] = float.PositiveInfinity;
            return LossToo ? float.NaN : l;
        }
    }

    private static TrainOptions Options(string dir, Precision p) => TrainerResumeTests.Options(dir) with { Dtype = p, AccumulationSteps = 1, MaxSteps = 6 };

    // The tests' model: the tiny config, seed 7, rounding at precision p.
    private static MiniMindModel TinyModel(CpuBackend backend, Minimind.Model.Data.IPretrainSource data, Precision p)
    {
        var model = MiniMindModel.Create(TrainerResumeTests.Tiny(), backend, 4, data.SeqLen);
        model.InitRandom(7);
        model.Precision = p;
        return model;
    }

    [Fact]
    public void Fp16_InjectedOverflow_SkipsExactlyThatStepAndHalvesTheScale()
    {
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        using var model = TinyModel(backend, data, Precision.Fp16);
        var opt = Options(d.Path, Precision.Fp16);
        using var t = new Trainer(new OverflowAt(new LanguageModelStage("pretrain", model, data), 1, 3), opt, TextWriter.Null, "test");
        var before = new float[model.Parameters.TotalElements];
        var after = new float[before.Length];
        for (int step = 1; step <= 5; step++)
        {
            backend.Download(model.Weights, before);
            var (_, norm) = t.TrainStep(new[] { t.MakeBatch(0, step - 1) }, 1e-3);
            backend.Download(model.Weights, after);
            bool changed = !before.AsSpan().SequenceEqual(after);
            if (step == 3)
            {
                Assert.True(t.LastStepSkipped);
                Assert.False(changed, "the overflowed step changed the weights");
                Assert.True(double.IsPositiveInfinity(norm));
                Assert.Equal(GradScaler.InitScale / 2, t.Scaler.Scale);
                Assert.Equal(2, t.Adam.Step);
            }
            else
            {
                Assert.False(t.LastStepSkipped, $"step {step} skipped");
                Assert.True(changed, $"step {step} did not update the weights");
                Assert.Equal(step < 3 ? GradScaler.InitScale : GradScaler.InitScale / 2, t.Scaler.Scale);
                Assert.True(double.IsFinite(norm));
            }
        }
        Assert.Equal(4, t.Adam.Step);
        Assert.Equal(2, t.Scaler.GrowthTracker);
    }

    /// <summary>Issue 12: fp16 loss scaling handles its own overflow, the divergence guard judges only real divergence.</summary>
    [Theory]
    [InlineData("fp16", false, TrainOutcome.Finished)] // scaler skips steps 2, 3: not bad steps, the run goes on
    [InlineData("fp16", true, TrainOutcome.Diverged)]  // a NaN loss is no scaling overflow: the guard still stops
    [InlineData("fp32", false, TrainOutcome.Diverged)] // no scaler: an inf gradient is the guard's bad step
    [InlineData("bf16", false, TrainOutcome.Diverged)]
    public void GuardIgnoresTheScalersOwnOverflowButNotANonFiniteLoss(string dtype, bool nanLoss, TrainOutcome want)
    {
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        var p = PrecisionRounding.Parse(dtype);
        using var model = TinyModel(backend, data, p);
        var opt = Options(d.Path, p) with { MaxBadSteps = 1 };
        using var t = new Trainer(new OverflowAt(new LanguageModelStage("pretrain", model, data), 1, 2, 3) { LossToo = nanLoss }, opt, TextWriter.Null, "test");
        Assert.Equal(want, t.Run(null, false));
        if (want == TrainOutcome.Finished)
        {
            Assert.Equal(0, t.Guard!.SkippedSteps);
            Assert.Null(t.DivergedReason);
            Assert.Equal(2, t.State.SkippedSteps);
            Assert.Equal(GradScaler.InitScale / 4, t.Scaler.Scale);
            Assert.Equal(6, t.State.OptimizerStep);
            Assert.Equal(4, t.Adam.Step);
        }
        else
        {
            Assert.Equal(1, t.Guard!.SkippedSteps);
            Assert.Contains("--max-bad-steps 1", t.DivergedReason);
            Assert.Equal(2, t.State.OptimizerStep);
            Assert.Equal(1, t.Adam.Step);
        }
    }

    [Fact]
    public void ScalerState_RoundTripsThroughTheResumeStateAndMinimindsResumeFile()
    {
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        var cfg = TrainerResumeTests.Tiny();
        using var model = TinyModel(backend, data, Precision.Fp16);
        var opt = Options(d.Path, Precision.Fp16) with { MaxSteps = 4, ExportMinimindResume = true };
        using var t = new Trainer(new OverflowAt(new LanguageModelStage("pretrain", model, data), 1, 2), opt, TextWriter.Null, "test");
        t.Run(null, false);
        Assert.Equal(GradScaler.InitScale / 2, t.Scaler.Scale);
        Assert.Equal(2, t.Scaler.GrowthTracker);
        Assert.Equal(1, t.State.SkippedSteps);

        // Our resume state.
        using var model2 = MiniMindModel.Create(cfg, backend, 4, data.SeqLen);
        using var t2 = new Trainer(model2, data, opt, TextWriter.Null, "test");
        Assert.True(ResumeLoader.TryLatest(t2));
        Assert.Equal(t.Scaler.Scale, t2.Scaler.Scale);
        Assert.Equal(t.Scaler.GrowthTracker, t2.Scaler.GrowthTracker);
        Assert.Equal("fp16", t2.State.Dtype);

        // MiniMind's file: torch's GradScaler.state_dict() keys and values.
        var r = MinimindResumeFile.Read(t.Paths.MinimindResumePath, model.Parameters, TextWriter.Null);
        Assert.NotNull(r.Scaler);
        Assert.Equal(32768.0, r.Scaler!["scale"]);
        Assert.Equal(2L, r.Scaler["_growth_tracker"]);
        Assert.Equal(2000L, r.Scaler["growth_interval"]);
        using var model3 = MiniMindModel.Create(cfg, backend, 4, data.SeqLen);
        using var t3 = new Trainer(model3, data, opt, TextWriter.Null, "test");
        ResumeLoader.LoadMinimindFile(t3, t.Paths.MinimindResumePath);
        Assert.Equal(32768f, t3.Scaler.Scale);
        Assert.Equal(2, t3.Scaler.GrowthTracker);

        // A bf16 run writes the empty dict of a disabled scaler.
        using var e = new TempDir();
        using var model4 = MiniMindModel.Create(cfg, backend, 4, data.SeqLen);
        model4.InitRandom(7);
        using var t4 = new Trainer(model4, data, Options(e.Path, Precision.Bf16) with { MaxSteps = 1, ExportMinimindResume = true }, TextWriter.Null, "test");
        t4.Run(null, false);
        Assert.Empty(MinimindResumeFile.Read(t4.Paths.MinimindResumePath, model4.Parameters, TextWriter.Null).Scaler!);
    }

    [SkippableFact]
    public void ScalerEntry_LoadsIntoTorchGradScaler()
    {
        var torch = TestEnvironment.Torch2;
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        using var model = TinyModel(backend, data, Precision.Fp16);
        var opt = Options(d.Path, Precision.Fp16) with { MaxSteps = 3, ExportMinimindResume = true };
        using var t = new Trainer(new OverflowAt(new LanguageModelStage("pretrain", model, data), 1, 1), opt, TextWriter.Null, "test");
        t.Run(null, false);
        string script = "import sys, torch\n" +
            "ck = torch.load(sys.argv[1], map_location='cpu', weights_only=True)\n" +
            "s = torch.amp.GradScaler('cpu'); s.load_state_dict(ck['scaler'])\n" +
            "print('SCALER', s.get_scale(), s._get_growth_tracker())\n";
        var py = Path.Combine(d.Path, "load_scaler.py");
        File.WriteAllText(py, script);
        var o = TestPaths.RunPython(torch, py, t.Paths.MinimindResumePath);
        Assert.Contains("SCALER 32768.0 2", o);
    }
}

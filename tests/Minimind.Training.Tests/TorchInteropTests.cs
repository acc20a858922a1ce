using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;
using Minimind.Training;
using Minimind.Training.Checkpointing;
using Minimind.Tests;

namespace Minimind.Training.Tests;

/// <summary>Checks against real PyTorch: its resume files continue here, our weight files load there.</summary>
public class TorchInteropTests
{
    /// <summary>
    /// tests/fixtures/training was written by tools/training/make_resume_fixture.py with torch 1.13's AdamW:
    /// a MiniMind resume file after 3 optimizer steps (world size 2), the next step's batches, and the
    /// weights PyTorch reaches after resuming and taking that step.
    /// </summary>
    [Fact]
    public void PyTorchResumeFileContinuesToPyTorchsNextStep()
    {
        var meta = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("next_step.json"))).RootElement;
        var cfgJson = meta.GetProperty("config");
        var cfg = ModelConfig.Preset("minimind-v1") with
        {
            Dim = cfgJson.GetProperty("dim").GetInt32(), NLayers = cfgJson.GetProperty("n_layers").GetInt32(),
            NHeads = cfgJson.GetProperty("n_heads").GetInt32(), NKvHeads = cfgJson.GetProperty("n_kv").GetInt32(),
            VocabSize = cfgJson.GetProperty("vocab").GetInt32(), MaxSeqLen = cfgJson.GetProperty("max_len").GetInt32(),
        };
        int b = meta.GetProperty("batch").GetInt32(), t = meta.GetProperty("seq").GetInt32();
        var batches = meta.GetProperty("batches").EnumerateArray().Select(x => new Batch(b, t,
            x.GetProperty("inputs").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
            x.GetProperty("targets").EnumerateArray().Select(v => v.GetInt32()).ToArray())).ToList();

        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        using var model = MiniMindModel.Create(cfg, backend, b, t);
        var data = BuiltinCorpus.CreateSource(new ByteTokenizer(), t + 1, count: 8);
        var opts = new TrainOptions
        {
            BatchSize = b, AccumulationSteps = meta.GetProperty("accumulation_steps").GetInt32(),
            GradClip = meta.GetProperty("grad_clip").GetDouble(), OutDir = d.Path, SaveDtype = TorchDType.F32,
        };
        var log = new StringWriter();
        using var trainer = new Trainer(model, data, opts, log, "fixture");
        ResumeLoader.LoadMinimindFile(trainer, TestPaths.Fixture("minimind_resume.pth"));
        Assert.Equal(3, trainer.Adam.Step);
        // Saved with world size 2 at step 6: MiniMind's rule makes it 6·2/1 = 12 micro-batches here, and says so.
        Assert.Contains("world size changed (2 -> 1): step in epoch rescaled from 6 to 12", log.ToString());

        trainer.TrainStep(batches, meta.GetProperty("lr").GetDouble());
        var ours = new float[model.Parameters.TotalElements];
        backend.Download(model.Weights, ours);
        var expected = new float[ours.Length];
        var report = StateDictLoader.Load(StateDict.Read(TestPaths.Fixture("expected_next_weights.pth")), model.Parameters, expected, strict: true);
        Assert.True(report.IsComplete);
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double rel = Math.Abs(ours[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), 1e-3);
            worst = Math.Max(worst, rel);
        }
        Assert.True(worst <= 1e-5, $"largest relative difference from PyTorch's next step: {worst:E3}");
        // And the step moved the weights well beyond that tolerance (the comparison is not vacuous).
        var before = MinimindResumeFile.Read(TestPaths.Fixture("minimind_resume.pth"), model.Parameters, TextWriter.Null).Weights;
        Assert.True(ours.Zip(before).Max(p => Math.Abs(p.First - p.Second)) > 1e-4);
    }

    /// <summary>The pretrain_&lt;dim&gt;.pth the trainer writes loads in real PyTorch (1.13 and 2.x) with weights_only=True, bit for bit, tied keys tied.</summary>
    [SkippableTheory]
    [InlineData("torch1")]
    [InlineData("torch2")]
    public void SavedWeightsLoadInPyTorchBitForBit(string torchName)
    {
        var torch = TestEnvironment.Torch(torchName);
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        using var model = MiniMindModel.Create(TrainerResumeTests.Tiny(), backend, 4, data.SeqLen);
        model.InitRandom(11);
        foreach (var dtype in new[] { TorchDType.F32, TorchDType.F16, TorchDType.BF16 })
        {
            var outDir = Path.Combine(d.Path, dtype.ShortName());
            using var t = new Trainer(model, data, TrainerResumeTests.Options(outDir) with { MaxSteps = 1, SaveDtype = dtype }, TextWriter.Null, "test");
            t.Run(null, false);
            var w = new float[model.Parameters.TotalElements];
            backend.Download(model.Weights, w);
            var rawPath = Path.Combine(d.Path, $"weights_{dtype.ShortName()}.f32");
            File.WriteAllBytes(rawPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()).ToArray());
            var keys = string.Join(",", model.Parameters.Entries.Select(e => $"{e.Name}:{e.Offset}"));
            var outp = TestPaths.RunPython(torch, Path.Combine(TestPaths.RepoRoot, "tools", "training", "check_pth.py"), t.Paths.WeightsPath, rawPath, keys);
            Assert.Contains($"OK {model.Parameters.Entries.Count} tensors", outp);
            Assert.Contains("tied output.weight", outp);
            // ... although it carries the architecture record that torch.load ignores.
            Assert.Equal(model.Config, ArchitectureRecord.Read(StateDict.Read(t.Paths.WeightsPath))!.Value.Config with { HiddenDim = model.Config.HiddenDim });
        }
    }

    /// <summary>
    /// --export-minimind-resume writes a file MiniMind's own PyTorch trainer can resume from, in torch 1.13 and in
    /// torch 2.x, whose torch.load defaults to weights_only=True from 2.6 on.
    /// </summary>
    [SkippableTheory]
    [InlineData("torch1")]
    [InlineData("torch2")]
    public void ExportedMinimindResumeLoadsInPyTorch(string torchName)
    {
        var torch = TestEnvironment.Torch(torchName);
        TestEnvironment.RequireTool(torch.Available, torch.SkipReason);
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = TrainerResumeTests.Data();
        var cfg = TrainerResumeTests.Tiny();
        using var model = MiniMindModel.Create(cfg, backend, 4, data.SeqLen);
        model.InitRandom(5);
        using var t = new Trainer(model, data, TrainerResumeTests.Options(d.Path) with { MaxSteps = 2, ExportMinimindResume = true }, TextWriter.Null, "test");
        t.Run(null, false);
        var o = TestPaths.RunPython(torch, Path.Combine(TestPaths.RepoRoot, "tools", "training", "check_resume.py"), t.Paths.MinimindResumePath,
            cfg.Dim.ToString(), cfg.NLayers.ToString(), cfg.NHeads.ToString(), cfg.NKvHeads.ToString(), cfg.VocabSize.ToString());
        // 2 optimizer steps of 3 micro-batches: MiniMind's 'step' counts micro-batches.
        Assert.Contains("OK epoch=0 step=6 world_size=1 adam_step=2", o);
        // Python's floats as torch writes them, not float32s widened to 0.8999999761581421; one group entry per
        // model.parameters() entry (the tied head counted once, as MiniMind's optimizer has it).
        Assert.Contains($"hyper betas=(0.9, 0.999) eps=1e-08 weight_decay=0.01 params={model.Parameters.Owners.Count()}", o);
    }
}

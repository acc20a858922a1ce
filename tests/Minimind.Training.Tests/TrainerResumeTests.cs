using System.Runtime.InteropServices;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Tokenizer;
using Minimind.Training;
using Minimind.Training.Checkpointing;

namespace Minimind.Training.Tests;

/// <summary>In-process runs of the trainer on a toy model: exact resume, refusal of a different architecture.</summary>
public class TrainerResumeTests
{
    internal static ModelConfig Tiny(int dim = 32) => ModelConfig.Preset("minimind-v1") with
    {
        Dim = dim, NLayers = 1, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 24,
    };

    internal static InMemoryPretrainSource Data() => BuiltinCorpus.CreateSource(new ByteTokenizer(), 24, count: 40);

    internal static TrainOptions Options(string outDir) => new()
    {
        Epochs = 2, BatchSize = 4, AccumulationSteps = 3, LearningRate = 3e-3, GradClip = 0.5, LogInterval = 100,
        SaveInterval = 2, OutDir = outDir, SaveDtype = TorchDType.F32, KeepLast = 2, Seed = 7,
    };

    private sealed class Killed : Exception;

    private static (float[] W, float[] M, float[] V, TrainingState S) Snapshot(Trainer t, MiniMindModel m)
    {
        long n = m.Parameters.TotalElements;
        var w = new float[n]; var mm = new float[n]; var v = new float[n];
        m.Backend.Download(m.Weights, w); m.Backend.Download(t.Adam.M, mm); m.Backend.Download(t.Adam.V, v);
        return (w, mm, v, t.State);
    }

    private static (float[] W, float[] M, float[] V, TrainingState S) RunToEnd(string outDir, long? killAfterStep, bool resume)
    {
        using var backend = new CpuBackend(1);
        var data = Data();
        using var model = MiniMindModel.Create(Tiny(), backend, 4, data.SeqLen);
        model.InitRandom(7);
        using var t = new Trainer(model, data, Options(outDir), TextWriter.Null, "test");
        bool resumed = resume && ResumeLoader.TryLatest(t);
        if (killAfterStep is { } k) t.AfterStep = s => { if (s == k) throw new Killed(); };
        try { t.Run(null, resumed); }
        catch (Killed) { return default; }
        return Snapshot(t, model);
    }

    [Fact]
    public void InterruptedAndResumedEqualsUninterruptedBitForBit()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        // 40 samples / batch 4 = 10 micro-batches per epoch → 4 optimizer steps per epoch (3+3+3+1), 8 in total.
        var full = RunToEnd(a.Path, null, false);
        Assert.Equal(8, full.S.OptimizerStep);
        Assert.Equal(8, full.S.Losses.Count);
        // Die after step 5 (last save at 4, the middle of epoch 2), then after 7 (save at 6), then finish.
        RunToEnd(b.Path, 5, false);
        RunToEnd(b.Path, 7, true);
        var resumed = RunToEnd(b.Path, null, true);
        Assert.Equal(MemoryMarshal.AsBytes(full.W.AsSpan()).ToArray(), MemoryMarshal.AsBytes(resumed.W.AsSpan()).ToArray());
        Assert.Equal(MemoryMarshal.AsBytes(full.M.AsSpan()).ToArray(), MemoryMarshal.AsBytes(resumed.M.AsSpan()).ToArray());
        Assert.Equal(MemoryMarshal.AsBytes(full.V.AsSpan()).ToArray(), MemoryMarshal.AsBytes(resumed.V.AsSpan()).ToArray());
        Assert.Equal(full.S.Losses.Select(BitConverter.SingleToInt32Bits), resumed.S.Losses.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(full.S.Serialize(), resumed.S.Serialize());
        // keep-last 2: only steps 6 and 8 remain.
        var root = Path.Combine(b.Path, "checkpoints", "pretrain_32");
        Assert.Equal(new long[] { 8, 6 }, ResumeStore.ListSteps(root).Select(c => c.Step));
        // The saved .pth is the final weights, bit for bit (f32).
        var sd = StateDict.Read(Path.Combine(b.Path, "pretrain_32.pth"));
        var loaded = new float[full.W.Length];
        using var be = new CpuBackend(1);
        using var m = MiniMindModel.Create(Tiny(), be, 1, 8);
        StateDictLoader.Load(sd, m.Parameters, loaded, strict: true);
        Assert.Equal(full.W, loaded);
    }

    [Fact]
    public void ResumeRefusesADifferentArchitecture()
    {
        using var d = new TempDir();
        using (var backend = new CpuBackend(1))
        {
            var data = Data();
            using var model = MiniMindModel.Create(Tiny(), backend, 4, data.SeqLen);
            model.InitRandom(1);
            using var t = new Trainer(model, data, Options(d.Path) with { MaxSteps = 1 }, TextWriter.Null, "test");
            t.Run(null, false);
        }
        using var backend2 = new CpuBackend(1);
        var data2 = Data();
        // Same folder name (dim 32) but a different layer count.
        using var other = MiniMindModel.Create(Tiny() with { NLayers = 2 }, backend2, 4, data2.SeqLen);
        using var t2 = new Trainer(other, data2, Options(d.Path), TextWriter.Null, "test");
        var e = Assert.Throws<ArgumentException>(() => ResumeLoader.TryLatest(t2));
        Assert.Contains("different architecture", e.Message);
        Assert.Contains("n-layers: checkpoint 1, requested 2", e.Message);
    }

    [Fact]
    public void MinimindResumeExportReadsBack()
    {
        using var d = new TempDir();
        using var backend = new CpuBackend(1);
        var data = Data();
        using var model = MiniMindModel.Create(Tiny(), backend, 4, data.SeqLen);
        model.InitRandom(3);
        using var t = new Trainer(model, data, Options(d.Path) with { MaxSteps = 2, SaveInterval = 100, ExportMinimindResume = true }, TextWriter.Null, "test");
        t.Run(null, false);
        var (w, m, v, s) = Snapshot(t, model);
        var r = MinimindResumeFile.Read(t.Paths.MinimindResumePath, model.Parameters, TextWriter.Null);
        Assert.Equal(w, r.Weights);
        Assert.Equal(m, r.M);
        Assert.Equal(v, r.V);
        Assert.Equal(2, r.AdamStep);
        Assert.Equal((0, 6L, 1), (r.Epoch, r.Step, r.WorldSize));
        Assert.Equal((0.9f, 0.999f, 1e-8f, 0.01f), (r.Beta1, r.Beta2, r.Eps, r.WeightDecay));
    }
}

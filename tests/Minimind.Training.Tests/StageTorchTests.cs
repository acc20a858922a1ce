using System.Diagnostics;
using System.Text.Json;
using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Lora;
using Minimind.Training;
using Minimind.Training.Stages;
using Minimind.Tests;

namespace Minimind.Training.Tests;

/// <summary>
/// Each training stage's loss and gradients against PyTorch (tools/training/stage_check.py over the
/// independent reference model tools/reference/minimind_ref.py), LoRA through MiniMind's own model_lora.py.
/// </summary>
public class StageTorchTests
{
    /// <summary>The 2024 layout at toy size: 4 query heads over 2 kv heads, so q/o are square and k/v are not.</summary>
    internal static ModelConfig Tiny(int layers = 2) => ModelConfig.Preset("minimind-v1") with
    {
        Dim = 32, NLayers = layers, NHeads = 4, NKvHeads = 2, VocabSize = 259, MaxSeqLen = 24,
    };

    internal static Dictionary<string, object> RefConfig(ModelConfig c) => new()
    {
        ["gen"] = "v2024", ["theta"] = c.RopeTheta, ["eps"] = c.NormEps, ["top_k"] = c.TopK, ["n_shared"] = c.NSharedExperts,
        ["dim"] = c.Dim, ["n_layers"] = c.NLayers, ["n_heads"] = c.NHeads, ["n_kv_heads"] = c.NKvHeads, ["vocab"] = c.VocabSize,
        ["max_seq_len"] = c.MaxSeqLen, ["use_moe"] = c.UseMoe, ["n_experts"] = c.NExperts, ["norm_topk"] = c.NormTopKProb,
        ["aux_alpha"] = c.AuxAlpha, ["hidden_dim"] = c.EffectiveHiddenDim,
    };

    internal static int[][] Rows(int[] flat, int b, int t) => Enumerable.Range(0, b).Select(r => flat[(r * t)..((r + 1) * t)]).ToArray();

    /// <summary>Runs stage_check.py MODE on <paramref name="spec"/>; returns its output tensors.</summary>
    internal static StateDict RunCheck(string mode, Dictionary<string, object> spec, string dir)
    {
        var specPath = Path.Combine(dir, mode + "_spec.json");
        File.WriteAllText(specPath, JsonSerializer.Serialize(spec));
        var outPath = Path.Combine(dir, mode + "_out.pth");
        var o = TestPaths.RunPython(Path.Combine(TestPaths.RepoRoot, "tools", "training", "stage_check.py"), mode, specPath, outPath);
        Assert.Contains("OK " + mode, o);
        return StateDict.Read(outPath);
    }

    /// <summary>Largest |a−b| / max(|b|, floor) over two equal-length arrays.</summary>
    internal static double WorstRel(ReadOnlySpan<float> ours, ReadOnlySpan<float> theirs, double floor)
    {
        Assert.Equal(theirs.Length, ours.Length);
        double worst = 0;
        for (int i = 0; i < ours.Length; i++) worst = Math.Max(worst, Math.Abs(ours[i] - theirs[i]) / Math.Max(Math.Abs(theirs[i]), floor));
        return worst;
    }

    // MiniMind's model_lora.py, written out of the mirror into a temp folder (never committed).
    private static string? WriteModelLora(string dir, out string why)
    {
        string repo = Environment.GetEnvironmentVariable("MM_MINIMIND_REPO") ?? "/work/.mirror/jingyaogong+minimind/repo";
        why = $"MiniMind's git repository is not at {repo} (set MM_MINIMIND_REPO to a clone of jingyaogong/minimind)";
        if (!Directory.Exists(repo)) return null;
        var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-C", repo, "show", "HEAD:model/model_lora.py" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) { why = $"git show HEAD:model/model_lora.py failed in {repo}"; return null; }
        var d = Path.Combine(dir, "minimind_model");
        Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(d, "model_lora.py"), text);
        return d;
    }

    /// <summary>
    /// Two LoRA steps here, then: the adapter file loads into a PyTorch MiniMind through MiniMind's own
    /// apply_lora + load_lora (same keys, every adapted module), the next batch's loss and adapter
    /// gradients equal PyTorch's with the base frozen, the base weights never moved, and merged weights
    /// equal base + B·A (float64 here; MiniMind's merge_lora's float16 file within its rounding).
    /// </summary>
    [SkippableFact]
    public void LoraMatchesMiniMindsModelLora()
    {
        TestEnvironment.RequireTool(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        using var d = new TempDir();
        string? loraDir = WriteModelLora(d.Path, out var why);
        Skip.If(loraDir is null, why);
        var cfg = Tiny();
        var data = TrainerResumeTests.Data();
        using var backend = new CpuBackend(1);
        using var model = MiniMindModel.Create(cfg, backend, 4, data.SeqLen);
        model.InitRandom(3);
        var basePath = Path.Combine(d.Path, "base.pth");
        PthWriter.WriteStateDict(basePath, model.ExportStateDict());
        var baseBefore = new float[model.Parameters.TotalElements];
        backend.Download(model.Weights, baseBefore);

        using var lora = new LoraAdapters(model, 8);
        lora.InitRandom(4);
        // MiniMind adapts exactly the square linears: q and o of each block, not k/v (16x32), FFN or head.
        Assert.Equal(new[] { "layers.0.attention.wq.weight", "layers.0.attention.wo.weight", "layers.1.attention.wq.weight", "layers.1.attention.wo.weight" }, lora.AdaptedKeys);
        var stage = new LoraStage(model, lora, data);
        var opts = TrainerResumeTests.Options(d.Path) with { MaxSteps = 2, LearningRate = 2e-2, SaveWeight = "lora_test" };
        using (var t = new Trainer(stage, opts, TextWriter.Null, "test")) t.Run(null, false);
        var loraPath = Path.Combine(d.Path, "lora_test_32.pth");
        Assert.True(File.Exists(loraPath));
        var baseAfter = new float[baseBefore.Length];
        backend.Download(model.Weights, baseAfter);
        Assert.True(baseBefore.AsSpan().SequenceEqual(baseAfter), "LoRA training changed a base weight");

        var batch = new Trainer(stage, opts with { OutDir = Path.Combine(d.Path, "x") }, TextWriter.Null, "test").MakeBatch(1, 0);
        backend.Fill(lora.Gradients, 0f);
        float loss = stage.ForwardBackward(batch, 1f);
        var grads = new float[lora.Table.TotalElements];
        backend.Download(lora.Gradients, grads);

        var merged = Path.Combine(d.Path, "merged_torch.pth");
        var res = RunCheck("lora", new Dictionary<string, object>
        {
            ["cfg"] = RefConfig(cfg), ["weights"] = basePath, ["lora"] = loraPath, ["rank"] = 8, ["model_lora_dir"] = loraDir!,
            ["merged_out"] = merged, ["inputs"] = Rows(batch.Inputs, batch.BatchSize, batch.SeqLen), ["targets"] = Rows(batch.Targets, batch.BatchSize, batch.SeqLen),
        }, d.Path);
        Assert.True(Math.Abs(loss - res["loss"].ToFloat32()[0]) <= 1e-5 * Math.Abs(loss), $"loss {loss} vs PyTorch {res["loss"].ToFloat32()[0]}");
        foreach (var e in lora.Table.Entries)
        {
            var theirs = res["grad/" + e.Name].ToFloat32();
            double rel = WorstRel(grads.AsSpan((int)e.Offset, (int)e.Numel), theirs, 1e-3 * theirs.Max(Math.Abs));
            Assert.True(rel < 1e-3, $"{e.Name}: gradient differs from PyTorch by {rel:E2}");
            Assert.True(theirs.Max(Math.Abs) > 0, $"{e.Name}: zero gradient, the comparison would be vacuous");
        }

        // merged = base + B·A: ours against a float64 product, MiniMind's float16 file within float16 rounding.
        var ours = LoraMerge.Merge(StateDict.Read(basePath), StateDict.Read(loraPath), out int n);
        Assert.Equal(4, n);
        var loraSd = StateDict.Read(loraPath);
        var torchMerged = StateDict.Read(merged);
        Assert.DoesNotContain(torchMerged.Keys, k => k.Contains(".lora."));
        foreach (var key in ours.Keys)
        {
            var m = ours[key].ToFloat32();
            var w = StateDict.Read(basePath)[key].ToFloat32();
            string stem = key[..^".weight".Length];
            if (loraSd.TryGetValue(stem + ".lora.A.weight", out var at))
            {
                float[] a = at.ToFloat32(), b = loraSd[stem + ".lora.B.weight"].ToFloat32();
                int rows = ours[key].Shape[0], cols = ours[key].Shape[1], r = at.Shape[0];
                double worst = 0;
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < cols; j++)
                    {
                        double s = w[i * cols + j];
                        for (int q = 0; q < r; q++) s += (double)b[i * r + q] * a[q * cols + j];
                        worst = Math.Max(worst, Math.Abs(m[i * cols + j] - s));
                    }
                Assert.True(worst < 1e-6, $"{key}: merged differs from base + B·A by {worst:E2}");
                Assert.False(m.SequenceEqual(w), $"{key}: the merge changed nothing (B is still zero)");
            }
            else Assert.True(m.SequenceEqual(w), $"{key} has no adapter but changed");
            var t16 = torchMerged[key].ToFloat32();
            for (int i = 0; i < m.Length; i++)
                Assert.True(Math.Abs(m[i] - t16[i]) <= 2e-3 * Math.Abs(m[i]) + 1e-6, $"{key}[{i}]: ours {m[i]}, MiniMind's merge_lora {t16[i]}");
        }
    }
}

/// <summary>DPO and distillation against PyTorch's train_dpo.py / train_distillation.py losses on the reference model.</summary>
public class PreferenceAndDistillTorchTests
{
    // Chosen rows from the built-in corpus, rejected ones from its held-out stream (padding targets are −100).
    private static (Minimind.Model.Data.InMemoryPretrainSource Chosen, Minimind.Model.Data.InMemoryPretrainSource Rejected) Pairs()
    {
        var all = Minimind.Model.Data.BuiltinCorpus.CreateSource(new Minimind.Model.Tokenizer.ByteTokenizer(), 24, count: 16);
        return (all, Minimind.Model.Data.BuiltinCorpus.CreateValidationSource(new Minimind.Model.Tokenizer.ByteTokenizer(), 24, count: 16));
    }

    /// <summary>train_dpo.py's loss with a frozen reference model: loss and every policy gradient equal PyTorch's.</summary>
    [SkippableFact]
    public void DpoLossAndGradientsMatchPyTorch()
    {
        TestEnvironment.RequireTool(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        using var d = new TempDir();
        var cfg = StageTorchTests.Tiny();
        var (chosen, rejected) = Pairs();
        using var backend = new CpuBackend(1);
        using var policy = Saved(cfg, backend, chosen.SeqLen, 5, d.Path, "policy", out var pPath);
        using var reference = Saved(cfg, backend, chosen.SeqLen, 6, d.Path, "ref", out var rPath);
        var stage = new DpoStage(policy, reference, chosen, rejected, beta: 0.15);
        var batch = stage.CreateBatch(new[] { 3, 7 });
        Assert.Equal(4, batch.BatchSize);
        policy.ZeroGradients();
        float loss = stage.ForwardBackward(batch, 1f);
        Assert.Equal(loss, stage.ForwardLoss(batch));
        var res = StageTorchTests.RunCheck("dpo", new Dictionary<string, object>
        {
            ["cfg"] = StageTorchTests.RefConfig(cfg), ["weights"] = pPath, ["ref_weights"] = rPath, ["beta"] = 0.15,
            ["inputs"] = StageTorchTests.Rows(batch.Inputs, 4, batch.SeqLen), ["targets"] = StageTorchTests.Rows(batch.Targets, 4, batch.SeqLen),
        }, d.Path);
        float theirs = res["loss"].ToFloat32()[0];
        Assert.True(Math.Abs(loss - theirs) <= 1e-5 * Math.Abs(theirs) + 1e-6, $"DPO loss {loss} vs PyTorch {theirs}");
        AssertGradients(policy, res);
    }

    /// <summary>train_distillation.py's α·CE + (1−α)·T²·KL against a teacher of another shape: loss and every student gradient equal PyTorch's.</summary>
    [SkippableFact]
    public void DistillationLossAndGradientsMatchPyTorch()
    {
        TestEnvironment.RequireTool(TestEnvironment.HasTorch, TestEnvironment.Torch1.SkipReason);
        using var d = new TempDir();
        var cfg = StageTorchTests.Tiny();
        var tcfg = StageTorchTests.Tiny(layers: 1) with { Dim = 48, NHeads = 4, NKvHeads = 4 };
        var (data, _) = Pairs();
        using var backend = new CpuBackend(1);
        using var student = Saved(cfg, backend, data.SeqLen, 8, d.Path, "student", out var sPath);
        using var teacher = Saved(tcfg, backend, data.SeqLen, 9, d.Path, "teacher", out var tPath);
        var stage = new DistillStage(student, teacher, data, alpha: 0.5, temperature: 1.5);
        var batch = stage.CreateBatch(new[] { 2, 5, 11 });
        student.ZeroGradients();
        float loss = stage.ForwardBackward(batch, 1f);
        Assert.Equal(loss, stage.ForwardLoss(batch));
        var res = StageTorchTests.RunCheck("distill", new Dictionary<string, object>
        {
            ["cfg"] = StageTorchTests.RefConfig(cfg), ["weights"] = sPath, ["teacher_cfg"] = StageTorchTests.RefConfig(tcfg), ["teacher_weights"] = tPath,
            ["alpha"] = 0.5, ["temperature"] = 1.5,
            ["inputs"] = StageTorchTests.Rows(batch.Inputs, 3, batch.SeqLen), ["targets"] = StageTorchTests.Rows(batch.Targets, 3, batch.SeqLen),
        }, d.Path);
        float theirs = res["loss"].ToFloat32()[0];
        Assert.True(res["kl"].ToFloat32()[0] > 1e-3, "the teacher and student agree: the KL part would be untested");
        Assert.True(Math.Abs(loss - theirs) <= 1e-5 * Math.Abs(theirs), $"distillation loss {loss} vs PyTorch {theirs}");
        AssertGradients(student, res);
    }

    // A randomly initialised model (batch ≤ 4) and the .pth of its weights for the PyTorch side.
    private static MiniMindModel Saved(ModelConfig cfg, CpuBackend backend, int seqLen, int seed, string dir, string name, out string path)
    {
        var m = MiniMindModel.Create(cfg, backend, 4, seqLen);
        m.InitRandom(seed);
        path = Path.Combine(dir, name + ".pth");
        PthWriter.WriteStateDict(path, m.ExportStateDict());
        return m;
    }

    internal static void AssertGradients(MiniMindModel model, StateDict res)
    {
        var g = new float[model.Parameters.TotalElements];
        model.Backend.Download(model.Gradients, g);
        foreach (var e in model.Parameters.Owners)
        {
            var theirs = res["grad/" + e.Name].ToFloat32();
            double scale = theirs.Max(Math.Abs);
            Assert.True(scale > 0, $"{e.Name}: PyTorch's gradient is zero; the comparison would be vacuous");
            double rel = StageTorchTests.WorstRel(g.AsSpan((int)e.Offset, (int)e.Numel), theirs, 1e-3 * scale);
            Assert.True(rel < 2e-3, $"{e.Name}: gradient differs from PyTorch by {rel:E2}");
        }
    }
}

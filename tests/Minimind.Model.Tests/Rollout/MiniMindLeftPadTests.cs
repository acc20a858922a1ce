using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;
using Minimind.Model.Generation;
using Minimind.Model.Tests.Model;

namespace Minimind.Model.Tests.Rollout;

/// <summary>
/// MiniMind's rollout semantics against its own code (tools/rollout/minimind_leftpad.py ran MiniMind's model_minimind.py
/// and rollout_engine.py on the minimind-3 fixture models): a left-padded batch whose pads count in the RoPE positions
/// and are masked out of attention equals rows without pads that start at position P − L (per-row offsets), in the
/// training forward, its gradients, and the rollout engine's greedy generation and per-token log-probs.
/// </summary>
public sealed class MiniMindLeftPadTests
{
    public static IEnumerable<object[]> Fixtures() => new[] { new object[] { "minimind3-dense" }, new object[] { "minimind3-moe" } };

    // One fixture: MiniMind's left-padded batch and what its code computed on it.
    private sealed class LeftPad
    {
        public required ModelFixture Model { get; init; }
        public required PickleDict Expected { get; init; }
        public int B, P, R, Eos;
        public int[] Outputs = Array.Empty<int>(), PromptLens = Array.Empty<int>();

        public TorchTensor T(string key) => (TorchTensor)Expected[key]!;
        public float[] F(string key) => T(key).ToFloat32();

        public static LeftPad Load(string name)
        {
            var exp = (PickleDict)PthReader.Read(Path.Combine(ModelTestPaths.Fixtures, "..", "rollout", name, "expected.pth")).Root!;
            var fx = new LeftPad { Model = ModelFixture.Load(name), Expected = exp };
            var prompt = fx.T("prompt_ids").Shape;
            fx.B = prompt[0]; fx.P = prompt[1];
            fx.R = fx.T("outputs").Shape[1] - fx.P;
            fx.Outputs = fx.T("outputs").ToInt64().Select(v => (int)v).ToArray();
            fx.Eos = (int)fx.T("eos").ToInt64()[0];
            var mask = fx.T("attention_mask").ToInt64();
            fx.PromptLens = Enumerable.Range(0, fx.B).Select(b => (int)mask.Skip(b * fx.P).Take(fx.P).Sum()).ToArray();
            return fx;
        }

        /// <summary>Row b without its pads (prompt + completion), then pads after it up to P + R; offsets P − L_b.</summary>
        public (int[] Inputs, int[] Offsets) Unpadded()
        {
            int t = P + R;
            var inputs = new int[B * t];
            var offsets = new int[B];
            for (int b = 0; b < B; b++)
            {
                offsets[b] = P - PromptLens[b];
                Array.Copy(Outputs, b * t + offsets[b], inputs, b * t, t - offsets[b]);
            }
            return (inputs, offsets);
        }

        // MiniMind's GRPO loses its aux term's pads: with aux on, its load-balancing loss would count the pad tokens.
        public ModelConfig Config => Model.Config with { AuxAlpha = 0 };
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void TrainingForward_WithRowOffsets_EqualsMiniMindsLeftPaddedLogits(string name)
    {
        var fx = LeftPad.Load(name);
        using var be = new CpuBackend();
        int t = fx.P + fx.R, v = fx.Config.VocabSize;
        using var model = MiniMindModel.Create(fx.Config, be, fx.B, t);
        model.LoadStateDict(fx.Model.Weights);
        var (inputs, offsets) = fx.Unpadded();
        var got = model.Logits(inputs, fx.B, t, offsets);
        var want = fx.F("logits");
        for (int b = 0; b < fx.B; b++)
        {
            int real = t - offsets[b];   // row b's real tokens, at MiniMind's columns offsets[b]..
            double e = ModelFixture.RelErr(got.AsSpan(b * t * v, real * v), want.AsSpan((b * t + offsets[b]) * v, real * v));
            Assert.True(e < 1e-5, $"{name} row {b} (offset {offsets[b]}): logits differ from MiniMind's by {e:E2}");
        }
        // RoPE scores depend only on q − k positions, so rows shifted to start at 0 give the same logits up to rounding;
        // the offsets reproduce MiniMind's angles themselves (printed: the two errors side by side).
        var plain = model.Logits(inputs, fx.B, t);
        for (int b = 0; b < fx.B; b++)
        {
            int real = t - offsets[b];
            Console.WriteLine($"{name} row {b} offset {offsets[b]}: rel err with offsets {ModelFixture.RelErr(got.AsSpan(b * t * v, real * v), want.AsSpan((b * t + offsets[b]) * v, real * v)):E2}, " +
                $"from position 0 {ModelFixture.RelErr(plain.AsSpan(b * t * v, real * v), want.AsSpan((b * t + offsets[b]) * v, real * v)):E2}");
        }
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void ForwardBackward_WithRowOffsets_EqualsMiniMindsGradients(string name)
    {
        var fx = LeftPad.Load(name);
        using var be = new CpuBackend();
        int t = fx.P + fx.R;
        using var model = MiniMindModel.Create(fx.Config, be, fx.B, t);
        model.LoadStateDict(fx.Model.Weights);
        var (inputs, offsets) = fx.Unpadded();
        // CE on the completion tokens up to and including the first eos (train_grpo.py's completion mask), masked mean.
        var targets = Enumerable.Repeat(Batch.IgnoreIndex, fx.B * t).ToArray();
        var cmask = fx.F("completion_mask");
        for (int b = 0; b < fx.B; b++)
            for (int j = 0; j < fx.R; j++)
                if (cmask[b * fx.R + j] > 0) targets[b * t + fx.PromptLens[b] - 1 + j] = fx.Outputs[b * t + fx.P + j];
        model.ZeroGradients();
        float loss = model.ForwardBackward(new Batch(fx.B, t, inputs, targets, positionOffsets: offsets), 1f);
        float lossRef = fx.F("loss")[0];
        Assert.True(Math.Abs(loss - lossRef) < 1e-5 * Math.Max(1, Math.Abs(lossRef)), $"{name}: loss {loss} vs MiniMind's {lossRef}");
        var grads = new float[model.Parameters.TotalElements];
        be.Download(model.Gradients, grads);
        // Relative to the parameter's own scale, floored at 1e-3 of the largest gradient: a top-1 router with
        // norm_topk_prob has weights w/(w + 1e-20) ≈ 1, so its gradient is rounding noise (~1e-9) in both implementations.
        var wants = model.Parameters.Owners.Select(e => ((TorchTensor)fx.Expected["grad/" + e.Name]!).ToFloat32()).ToList();
        double floor = 1e-3 * wants.Max(w => w.Max(Math.Abs));
        foreach (var (e, want) in model.Parameters.Owners.Zip(wants))
        {
            var got = grads.AsSpan((int)e.Offset, (int)e.Numel);
            double diff = 0, scale = floor;
            for (int i = 0; i < want.Length; i++) { diff = Math.Max(diff, Math.Abs(got[i] - want[i])); scale = Math.Max(scale, Math.Abs(want[i])); }
            double err = diff / scale;
            Assert.True(err < 1e-4, $"{name} {e.Name}: gradient differs from MiniMind's by {err:E2}");
        }
    }

    public static IEnumerable<object[]> FixturesOnBackends() =>
        from f in new[] { "minimind3-dense", "minimind3-moe" } from b in new[] { "cpu", "ilgpu-cpu" } select new object[] { f, b };

    [Theory, MemberData(nameof(FixturesOnBackends))]
    public void Engine_GreedyRollout_EqualsMiniMindsGenerate_AndItsLogProbs(string name, string backend)
    {
        var fx = LeftPad.Load(name);
        using IBackend be = backend == "cpu" ? new CpuBackend() : IlgpuBackend.CreateCpuSimulator();
        int t = fx.P + fx.R;
        using var model = MiniMindModel.Create(fx.Config, be, fx.B, t);
        model.LoadStateDict(fx.Model.Weights);
        using var engine = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = fx.B, PageSize = 4 });
        var greedy = new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 };
        var ids = new int[fx.B];
        for (int b = 0; b < fx.B; b++)
        {
            int off = fx.P - fx.PromptLens[b];
            ids[b] = engine.Add(new GenerationRequest
            {
                Prompt = fx.Outputs.AsSpan(b * t + off, fx.PromptLens[b]).ToArray(), PositionOffset = off,
                Sampler = new Sampler(greedy), MaxNewTokens = fx.R, StopIds = new[] { fx.Eos },
            });
        }
        engine.RunAll();
        var old = fx.F("per_token_logps");
        for (int b = 0; b < fx.B; b++)
        {
            var s = engine[ids[b]];
            var completion = s.Completion.ToArray();
            // MiniMind fills a row with eos after its first eos; the engine stops there.
            var want = fx.Outputs.AsSpan(b * t + fx.P, fx.R).ToArray();
            int stop = Array.IndexOf(want, fx.Eos);
            int len = stop < 0 ? fx.R : stop + 1;
            Assert.Equal(want[..len], completion);
            Assert.Equal(stop < 0 ? FinishReason.Length : FinishReason.Stop, s.Finish);
            for (int j = 0; j < len; j++)
            {
                double lp = s.LogProbs[s.Tokens.Count - len + j];
                Assert.True(Math.Abs(lp - old[b * fx.R + j]) < 2e-5, $"{name} on {backend}, row {b}, token {j}: log-prob {lp} vs MiniMind's {old[b * fx.R + j]}");
            }
        }
    }
}

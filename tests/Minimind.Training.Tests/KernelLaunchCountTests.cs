using Minimind.Kernels;
using Minimind.Kernels.Ilgpu;
using Minimind.Model;
using Minimind.Training;

namespace Minimind.Training.Tests;

/// <summary>
/// Kernel launches of one training step (forward + backward + clip + AdamW) on the ILGPU simulator, counted by
/// <see cref="ILaunchCounter"/>, against a count derived by hand from the model's structure below.
/// </summary>
public class KernelLaunchCountTests
{
    // ---- launches per op call on IlgpuBackend (read off its op methods) ----
    // One kernel each: Fill, Embedding, RmsNorm, AddRmsNorm (residual add + norm), RmsNormRope (q/k norm + RoPE), MatMul
    // and both matmul backwards (one GEMM kernel at fp32), Rope, RopeBackward, Attention, SwiGlu, SwiGluBackward,
    // CrossEntropyForwardBackward (losses and dLogits together), SumOfSquares, AdamW.
    private const int RmsNormBackward = 3;    // dx rows, dWeight row-chunk partials, the chunks summed in order
    private const int EmbeddingBackward = 2;  // per-token links of equal ids, then the ordered scatter-add
    private const int AttentionBackward = 3;  // rowdot(dO, O), dq blocks, dk/dv blocks
    private const int RopeRmsNormBackward = 3; // rope backward + dx rows, dWeight partials, the chunks summed in order

    // ---- one dense block (no MoE, no LoRA) ----
    // forward: q/k/v, rope q, rope k (with q/k norm: q_norm + rope q, k_norm + rope k, fused), attention, wo,
    //          residual add + ffn_norm, gate, up, swiglu, down,
    //          residual add + the next norm (the next block's attention_norm, or the final norm after the last block)
    private static int BlockForward(bool qkNorm) => 3 + 2 + 1 + 1 + 1 + 4 + 1;
    // backward: FFN (down: 2 GEMMs, swiglu, gate: 2, up: 2), ffn_norm, wo (2 GEMMs), attention, rope q, rope k (with q/k
    //           norm: rope + q_norm and rope + k_norm, fused), q/k/v (2 GEMMs each), attention_norm
    //           (the residual adds pass gradients through: no launch)
    private static int BlockBackward(bool qkNorm) =>
        (2 + 1 + 2 + 2) + RmsNormBackward + 2 + AttentionBackward + (qkNorm ? 2 * RopeRmsNormBackward : 2) + 6 + RmsNormBackward;

    // ---- outside the blocks ----
    // forward: embedding, block 0's attention_norm, head GEMM, the fused loss; backward: head (2 GEMMs), final norm,
    // embedding; step: zero the gradient (Fill), SumOfSquares for clip_grad_norm_, AdamW.
    private const int HeadForward = 1 + 1 + 1 + 1;
    private const int HeadBackward = 2 + RmsNormBackward + EmbeddingBackward;
    private const int Optimizer = 1 + 1 + 1;

    private static long Expected(ModelConfig c) =>
        (long)c.NLayers * (BlockForward(c.QkNorm) + BlockBackward(c.QkNorm)) + HeadForward + HeadBackward + Optimizer;

    // Before the fused ops (separate residual Add and RmsNorm, q/k RmsNorm and Rope, CrossEntropy then CrossEntropyBackward)
    // the same steps took 97, 113 and 138 launches: 2 fewer per block (6 with q/k norm) and 1 fewer outside.
    [Theory]
    [InlineData("minimind-v1", 2, 92)]   // 2·(13 + 26) + 4 + 7 + 3
    [InlineData("minimind3", 2, 100)]    // 2·(13 + 30) + 4 + 7 + 3
    [InlineData("minimind-v1", 3, 131)]
    public void OneTrainingStep_LaunchesWhatTheModelStructureImplies(string arch, int layers, long total)
    {
        var tiny = TrainerResumeTests.Tiny();
        var cfg = ModelConfig.Preset(arch) with
        {
            Dim = tiny.Dim, NLayers = layers, NHeads = tiny.NHeads, NKvHeads = tiny.NKvHeads, VocabSize = tiny.VocabSize, MaxSeqLen = tiny.MaxSeqLen,
        };
        Assert.Equal(total, Expected(cfg));
        using var d = new TempDir();
        using var backend = IlgpuBackend.CreateCpuSimulator();
        var data = TrainerResumeTests.Data();
        using var model = MiniMindModel.Create(cfg, backend, 2, data.SeqLen);
        model.InitRandom(7);
        var opts = TrainerResumeTests.Options(d.Path) with { BatchSize = 2, AccumulationSteps = 1 };
        using var trainer = new Trainer(model, data, opts, TextWriter.Null, "launch count");
        for (int step = 0; step < 2; step++)
        {
            long before = backend.KernelLaunches;
            trainer.TrainStepAt(0, step, 1e-3);
            Assert.Equal(Expected(cfg), backend.KernelLaunches - before);
        }
    }

}

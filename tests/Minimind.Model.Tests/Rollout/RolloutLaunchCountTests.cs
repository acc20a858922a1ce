using Minimind.Kernels.Ilgpu;
using Minimind.Model.Generation;

namespace Minimind.Model.Tests.Rollout;

/// <summary>
/// The rollout engine decodes a whole batch per step on the ILGPU backend: the kernels one <see cref="RolloutEngine.Step"/>
/// launches (counted by <see cref="Minimind.Kernels.ILaunchCounter"/> on the CPU simulator) are a number fixed by the
/// model's structure, the same for a GRPO batch of 2 sequences as of 12, derived by hand below; only the first step
/// after forking adds the copy-on-write of each shared, partly filled prompt page.
/// </summary>
public sealed class RolloutLaunchCountTests
{
    // ---- one decode step (one new token per active sequence; dense model, no LoRA), read off DecodeForward ----
    // embedding, block 0's attention_norm; per block: q/k/v GEMMs, RoPE of q and of k (fused with q_norm/k_norm when the
    // model has them), the KV-cache append, the paged decode attention, wo, residual add + ffn_norm, gate, up, SwiGLU,
    // down, residual add + the next norm; then the head GEMM over every sequence's row at once.
    private static long DecodeStep(ModelConfig c) => 2 + (long)c.NLayers * (3 + 2 + 1 + 1 + 1 + 1 + 4 + 1) + 1;

    // A sequence that first writes into a partly filled page it shares (a fork of the prompt) copies the page's rows:
    // one k and one v copy per layer.
    private static long PageCopy(ModelConfig c) => 2L * c.NLayers;

    private static ModelConfig Config(string arch) => ModelConfig.Preset(arch) with
    {
        Dim = 64, NLayers = 2, NHeads = 4, NKvHeads = 2, VocabSize = 300, MaxSeqLen = 64, UseMoe = false,
    };

    // B prompts of different lengths (none a multiple of the page size: the forks share a partly filled page) x G
    // samples, each with a budget of `budget` tokens and no stop id, so all stay active until the last step.
    // Returns the launches of every step.
    private static List<long> StepLaunches(MiniMindModel model, IlgpuBackend be, int prompts, int generations, int budget)
    {
        using var e = new RolloutEngine(model, new RolloutEngineOptions { MaxSequences = prompts * generations, PageSize = 8 });
        for (int b = 0; b < prompts; b++)
        {
            var rng = new Random(30 + b);
            var sampling = new SamplingOptions { Temperature = 0.8f, TopP = 0.85f, TopK = 50, RepetitionPenalty = 1 };
            int id = e.Add(new GenerationRequest
            {
                Prompt = Enumerable.Range(0, 5 + 6 * b).Select(_ => rng.Next(3, 300)).ToArray(), Sampler = new Sampler(sampling, (ulong)(b * 100)),
                MaxNewTokens = budget, PositionOffset = 6 * (prompts - 1 - b),
            });
            for (int g = 1; g < generations; g++) e.Fork(id, new Sampler(sampling, (ulong)(b * 100 + g)));
        }
        var launches = new List<long>();
        while (e.ActiveCount > 0)
        {
            long before = be.KernelLaunches;
            e.Step();
            launches.Add(be.KernelLaunches - before);
        }
        return launches;
    }

    [Theory]
    [InlineData("minimind3")]   // q/k norm fused with RoPE
    [InlineData("minimind-v1")] // plain RoPE
    public void ADecodeStepLaunchesAFixedNumberOfKernels_2And12SequencesAlike(string arch)
    {
        var c = Config(arch);
        Assert.Equal(31, DecodeStep(c)); // 2 + 2·14 + 1
        using var be = IlgpuBackend.CreateCpuSimulator();
        using var model = MiniMindModel.Create(c, be, 1, c.MaxSeqLen);
        model.InitRandom(11);
        const int budget = 5;
        foreach (var (prompts, generations) in new[] { (2, 1), (1, 2), (2, 6) })
        {
            var steps = StepLaunches(model, be, prompts, generations, budget);
            string what = $"{arch}, {prompts} prompts x {generations} generations";
            Assert.Equal(budget, steps.Count);
            // step 1: G - 1 of each prompt's G holders copy its shared last page (the last one writes in place)
            Assert.True(DecodeStep(c) + PageCopy(c) * prompts * (generations - 1) == steps[0], $"{what}: step 1 launched {steps[0]}");
            for (int s = 1; s < budget - 1; s++) Assert.True(DecodeStep(c) == steps[s], $"{what}: step {s + 1} launched {steps[s]}, expected {DecodeStep(c)}");
            // the last step samples each sequence's last token and feeds none
            Assert.Equal(0, steps[^1]);
        }
    }
}

using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Generation;
using Minimind.Training.Rl;

namespace Minimind.Training.Tests.Rl;

/// <summary>
/// <see cref="GrpoMemoryParts"/>, counted by hand from the config, against what the pieces of a GRPO step allocate on a
/// fresh CPU backend (<see cref="Minimind.Kernels.IBackend.Memory"/>), part by part, for a dense and a MoE minimind3;
/// and the forward-only reference against the trained model it replaces: the same log-probs and aux loss, bit for bit.
/// </summary>
public class GrpoMemoryPartsTests
{
    private const int Prompts = 2, Generations = 3, PromptTokens = 5, MaxGen = 7;

    public static IEnumerable<object[]> Configs() => new[] { new object[] { false }, new object[] { true } };

    private static ModelConfig Tiny(bool moe) => ModelConfig.Preset("minimind3") with
    {
        Dim = 32, NLayers = 3, NHeads = 4, NKvHeads = 2, VocabSize = 97, MaxSeqLen = 2 * PromptTokens + MaxGen, UseMoe = moe,
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void EachPart_IsWhatItsPieceAllocates(bool moe)
    {
        var c = Tiny(moe);
        var parts = GrpoMemoryParts.Of(c, Prompts, Generations, PromptTokens, MaxGen).ToDictionary(p => p.Name, p => p.Bytes);
        using var b = new CpuBackend(1);
        long Delta(Action make) { long before = b.Memory.LiveBytes; make(); return b.Memory.LiveBytes - before; }
        int rows = Prompts * Generations, t = PromptTokens + MaxGen;
        MiniMindModel? policy = null, reference = null;
        Assert.Equal(parts["policy weights"] + parts["policy gradients"] + parts["update activations (saved by the forward)"]
            + parts["update logits (become dlogits in place)"] + parts["update backward scratch (one block, reused)"],
            Delta(() => policy = MiniMindModel.Create(c, b, rows, t)));
        Assert.Equal(GrpoMemoryParts.Parameters(c), policy!.Parameters.TotalElements);
        Assert.Equal(parts["reference weights"] + parts["reference forward (one block, reused)"],
            Delta(() => reference = MiniMindModel.CreateForwardOnly(c, b, rows, t)));
        Assert.Equal(parts["AdamW m and v"], Delta(() => new AdamWState(b, policy.Parameters.TotalElements)));
        Assert.Equal(parts["rollout KV cache"], Delta(() => new RolloutEngine(policy, new RolloutEngineOptions { MaxSequences = rows, Context = t })));
        Assert.Equal(parts.Values.Sum(), b.Memory.LiveBytes);
        policy.Dispose();
        reference!.Dispose();
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void ForwardOnlyModel_GivesTheTrainedModelsLogProbs_AndRefusesABackward(bool moe)
    {
        var c = Tiny(moe) with { AuxAlpha = 0.1f };
        using var b = new CpuBackend(1);
        int rows = 4, t = 9;
        using var full = MiniMindModel.Create(c, b, rows, t);
        using var frozen = MiniMindModel.CreateForwardOnly(c, b, rows, t);
        full.InitRandom(3);
        frozen.InitRandom(3);
        var rng = new Random(5);
        var inputs = Enumerable.Range(0, rows * t).Select(_ => rng.Next(c.VocabSize)).ToArray();
        var targets = inputs.Select((_, i) => i % 4 == 0 ? Batch.IgnoreIndex : rng.Next(c.VocabSize)).ToArray();
        var batch = new Batch(rows, t, inputs, targets, positionOffsets: new[] { 0, 2, 1, 3 });
        var (lpFull, auxFull) = full.TokenLogProbs(batch);
        var (lpFrozen, auxFrozen) = frozen.TokenLogProbs(batch);
        Assert.Equal(lpFull, lpFrozen);
        Assert.Equal(auxFull, auxFrozen);
        if (moe) Assert.NotEqual(0f, auxFrozen);
        Assert.True(frozen.Gradients.IsEmpty);
        var ex = Assert.Throws<InvalidOperationException>(() => frozen.TokenLogProbsBackward(batch, new float[rows * t], 1f));
        Assert.Contains("forward-only", ex.Message);
    }
}

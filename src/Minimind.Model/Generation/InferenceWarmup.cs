using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Minimind.Kernels.Cpu;

namespace Minimind.Model.Generation;

/// <summary>What <see cref="InferenceWarmup.Run"/> did: its time, the JIT compilation inside it, the packed panels it left.</summary>
/// <param name="Milliseconds">Wall time of the warm-up.</param>
/// <param name="JitMilliseconds">JIT compilation time inside it (all threads).</param>
/// <param name="JitMethods">Methods compiled inside it.</param>
/// <param name="PromptTokens">Tokens of its throwaway prompt.</param>
/// <param name="PackedBytes">Bytes of packed matmul panels kept for the weights afterwards (CPU backend; 0 elsewhere).</param>
public sealed record WarmupReport(double Milliseconds, double JitMilliseconds, long JitMethods, int PromptTokens, long PackedBytes)
{
    /// <summary>One line for the load report, e.g. "warm-up 310 ms (64-token prompt + 1 decode step: JIT 150 ms, 400 methods; 243 MiB of panels packed)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"warm-up {Milliseconds:F0} ms ({PromptTokens}-token prompt + 1 decode step: JIT {JitMilliseconds:F0} ms, {JitMethods} methods; {PackedBytes / (1024.0 * 1024.0):F0} MiB of matmul panels packed)");
}

/// <summary>
/// Makes a model loaded for inference (generate, chat, serve) ready before its first prompt, as a load-time step: marks
/// its weights frozen, so the backend packs their matmul panels whole at their first use and keeps them
/// (<see cref="Kernels.IBackend.KeepWeights"/>; any later write still makes them stale), and runs a throwaway greedy
/// generation on its own KV cache — a prompt long enough for the tiled SGEMM, then one decode step — so the panels are
/// packed, the kernels JIT-compiled and the activation memory touched at load instead of inside the first prompt. It
/// only reads the weights; the activations it leaves are overwritten by the next forward (same bits: InferenceWarmupTests).
/// </summary>
public static class InferenceWarmup
{
    /// <summary>Tokens of the throwaway prompt: more rows than the CPU SGEMM's skinny path takes (48), so the tiled path
    /// a prefill uses is compiled too; capped by the model's context.</summary>
    public const int PromptTokens = 64;

    private static readonly SamplingOptions Greedy = new() { Greedy = true, TopP = 1, RepetitionPenalty = 1 };

    /// <summary>Runs the warm-up on <paramref name="model"/> (its weights loaded) and says what it did.</summary>
    public static WarmupReport Run(MiniMindModel model)
    {
        model.Backend.KeepWeights(model.Weights, frozen: true);
        var jit0 = JitInfo.GetCompilationTime();
        long methods0 = JitInfo.GetCompiledMethodCount();
        var sw = Stopwatch.StartNew();
        // Generate needs room for the prompt plus one position; ids 0..n-1 (mod the vocabulary) are all valid.
        int n = Math.Min(PromptTokens, model.MaxSeqLen - 2);
        if (n >= 1)
        {
            var prompt = Enumerable.Range(0, n).Select(i => i % model.Config.VocabSize).ToArray();
            foreach (var _ in TextGenerator.Generate(model, prompt, 2, new Sampler(Greedy), eosId: -1)) { }
        }
        model.Backend.Synchronize();
        return new WarmupReport(sw.Elapsed.TotalMilliseconds, (JitInfo.GetCompilationTime() - jit0).TotalMilliseconds,
            JitInfo.GetCompiledMethodCount() - methods0, Math.Max(0, n),
            model.Backend is CpuBackend ? CpuBackend.PackedBytes(model.Weights) : 0);
    }
}

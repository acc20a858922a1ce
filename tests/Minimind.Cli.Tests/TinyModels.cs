using Minimind.Checkpoint;
using Minimind.Kernels.Cpu;
using Minimind.Model;

namespace Minimind.Cli.Tests;

/// <summary>
/// Small random models whose greedy continuation is sensitive to the architecture: the embedding is scaled up (logits
/// with a spread float error cannot reorder), q/k sharpen attention and o/down let the blocks outweigh the embedding in
/// the residual (otherwise a tied head just repeats the last token, and a wrong RoPE θ or layout would not show).
/// </summary>
internal static class TinyModels
{
    /// <summary>Writes the model of <paramref name="c"/> (seed 11) to <paramref name="path"/>; with <paramref name="tokenizer"/>,
    /// the file carries its architecture record naming that tokenizer, as the trainer writes it.</summary>
    public static string Write(string path, ModelConfig c, string? tokenizer = null)
    {
        using var be = new CpuBackend();
        using var m = MiniMindModel.Create(c, be, 1, 8);
        m.InitRandom(11);
        var sd = m.ExportStateDict();
        var k = KeyTable.Of(c.Generation);
        string emb = k[ParameterRole.Embedding];
        static bool Any(string key, params string[] parts) => parts.Any(key.Contains);
        float Scale(string key) => key == emb ? 25f
            : Any(key, "wq.", "wk.", "q_proj.", "k_proj.", "wo.", "o_proj.", "w2.", "down_proj.") ? 4f : 1f;
        var res = new StateDict();
        foreach (var (key, t) in sd)
            res.Add(key, Scale(key) == 1f ? t : TorchTensor.FromFloat32(t.ToFloat32().Select(x => x * Scale(key)).ToArray(), t.Shape));
        if (c.TiedEmbeddings) res.Add(k[ParameterRole.Head], res[emb].Alias());
        if (tokenizer is not null) ArchitectureRecord.Attach(res, c, tokenizer);
        PthWriter.WriteStateDict(path, res);
        return path;
    }

    /// <summary>A LoRA file as MiniMind's save_lora writes it: rank-4 A/B on every square attention projection (wq, wo),
    /// random (seed 5).</summary>
    public static string WriteLora(string path, ModelConfig c)
    {
        var k = KeyTable.Of(c.Generation);
        var rng = new Random(5);
        float[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * scale)).ToArray();
        var sd = new StateDict();
        for (int l = 0; l < c.NLayers; l++)
            foreach (var role in new[] { ParameterRole.Wq, ParameterRole.Wo })
            {
                var stem = k[role, l][..^".weight".Length];
                sd.Add(stem + ".lora.A.weight", TorchTensor.FromFloat32(R(4 * c.Dim, 1.0), new[] { 4, c.Dim }));
                sd.Add(stem + ".lora.B.weight", TorchTensor.FromFloat32(R(c.Dim * 4, 1.0), new[] { c.Dim, 4 }));
            }
        PthWriter.WriteStateDict(path, sd);
        return path;
    }
}

using System.Text.RegularExpressions;
using Minimind.Checkpoint;

namespace Minimind.Model;

/// <summary>
/// Reads a MiniMind architecture off a state dict's keys and shapes: the generation from the key names,
/// vocabulary/width/depth/FFN width/experts/kv heads from the shapes, where that is unambiguous.
/// </summary>
public static partial class CheckpointShapes
{
    [GeneratedRegex(@"(?:^|\.)layers\.(\d+)\.")]
    private static partial Regex LayerIndex();
    [GeneratedRegex(@"\.experts\.(\d+)\.")]
    private static partial Regex ExpertIndex();
    [GeneratedRegex(@"\.shared_experts\.(\d+)\.")]
    private static partial Regex SharedIndex();

    /// <summary>The preset whose key layout the state dict uses, or null when it is not a MiniMind state dict.
    /// 2024 and minimind2 share every key: <c>minimind2</c> is returned (pass <c>--arch minimind-v1</c> for 2024 files).</summary>
    public static string? DetectArch(StateDict sd)
    {
        var keys = sd.Keys.Select(StateDictLoader.NormalizeKey).ToList();
        if (keys.Contains("model.embed_tokens.weight"))
            return keys.Any(k => k.EndsWith(".self_attn.q_norm.weight", StringComparison.Ordinal)) ? "minimind3" : "minimind2-hf";
        if (keys.Contains("tok_embeddings.weight")) return "minimind2";
        return null;
    }

    /// <summary>
    /// Fills the fields of <paramref name="c"/> that the checkpoint determines, except those named in
    /// <paramref name="pinned"/> (set explicitly by the user or config.json; <see cref="CheckAgainst"/> then
    /// reports any disagreement). Field names are ModelConfig property names.
    /// </summary>
    public static ModelConfig Infer(ModelConfig c, StateDict sd, IReadOnlySet<string> pinned)
    {
        var shapes = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        foreach (var k in sd.Keys) shapes[StateDictLoader.NormalizeKey(k)] = sd[k];
        bool hf = c.HfKeys;
        string root = hf ? "model." : "";
        bool Free(string f) => !pinned.Contains(f);
        if (shapes.TryGetValue(hf ? "model.embed_tokens.weight" : "tok_embeddings.weight", out var emb) && emb.Rank == 2)
        {
            if (Free(nameof(ModelConfig.VocabSize))) c = c with { VocabSize = emb.Shape[0] };
            if (Free(nameof(ModelConfig.Dim))) c = c with { Dim = emb.Shape[1] };
        }
        var layers = shapes.Keys.Select(k => LayerIndex().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToList();
        if (layers.Count > 0 && Free(nameof(ModelConfig.NLayers))) c = c with { NLayers = layers.Max() + 1 };
        string att = $"{root}layers.0.{(hf ? "self_attn." : "attention.")}";
        if (shapes.TryGetValue(att + "q_norm.weight", out var qn) && qn.Rank == 1 && qn.Shape[0] > 0 && c.Dim % qn.Shape[0] == 0
            && Free(nameof(ModelConfig.NHeads)))
            c = c with { NHeads = c.Dim / qn.Shape[0] };
        if (shapes.TryGetValue(att + (hf ? "k_proj.weight" : "wk.weight"), out var wk) && wk.Rank == 2 && c.NHeads > 0 && c.Dim % c.NHeads == 0
            && wk.Shape[0] % (c.Dim / c.NHeads) == 0 && Free(nameof(ModelConfig.NKvHeads)))
            c = c with { NKvHeads = wk.Shape[0] / (c.Dim / c.NHeads) };
        string ff = $"{root}layers.0.{(hf ? "mlp" : "feed_forward")}";
        string gateName = hf ? "gate_proj" : "w1";
        var experts = shapes.Keys.Where(k => k.StartsWith(ff + ".experts.", StringComparison.Ordinal))
            .Select(k => ExpertIndex().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).Distinct().ToList();
        bool moe = experts.Count > 0;
        if (Free(nameof(ModelConfig.UseMoe)) && shapes.Keys.Any(k => k.StartsWith(ff + ".", StringComparison.Ordinal))) c = c with { UseMoe = moe };
        if (moe && Free(nameof(ModelConfig.NExperts))) c = c with { NExperts = experts.Max() + 1 };
        if (moe && Free(nameof(ModelConfig.NSharedExperts)))
        {
            int shared = shapes.ContainsKey($"{ff}.shared_experts.{gateName}.weight") ? 1
                : shapes.Keys.Where(k => k.StartsWith(ff + ".shared_experts.", StringComparison.Ordinal))
                    .Select(k => SharedIndex().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value) + 1).DefaultIfEmpty(0).Max();
            c = c with { NSharedExperts = shared };
        }
        string ffnKey = moe ? $"{ff}.experts.0.{gateName}.weight" : $"{ff}.{gateName}.weight";
        if (shapes.TryGetValue(ffnKey, out var w1) && w1.Rank == 2 && Free(nameof(ModelConfig.HiddenDim)))
            c = c with { HiddenDim = w1.Shape[0] };
        // Every MiniMind generation ties the head to the embedding, and MiniMind saves {k: v.half()}, which gives the
        // two keys separate (equal) storages: so the file's storage sharing says nothing, and the model stays tied
        // unless config.json (tie_word_embeddings) or --tie-embeddings says otherwise. TiedCopiesNote reports files
        // whose two copies differ.
        return c;
    }

    /// <summary>
    /// When <paramref name="c"/> ties the head and <paramref name="sd"/> stores embedding and head as separate
    /// tensors whose values differ, a sentence saying by how much and which copy the tied model uses (the head,
    /// as MiniMind's <c>load_state_dict</c> also ends up with); null when they agree, share storage or one is absent.
    /// </summary>
    public static string? TiedCopiesNote(ModelConfig c, StateDict sd)
    {
        if (!c.TiedEmbeddings) return null;
        string embKey = c.HfKeys ? "model.embed_tokens.weight" : "tok_embeddings.weight", headKey = c.HfKeys ? "lm_head.weight" : "output.weight";
        TorchTensor? emb = null, head = null;
        foreach (var k in sd.Keys)
        {
            var n = StateDictLoader.NormalizeKey(k);
            if (n == embKey) emb = sd[k]; else if (n == headKey) head = sd[k];
        }
        if (emb is null || head is null || !emb.Shape.AsSpan().SequenceEqual(head.Shape)) return null;
        if (ReferenceEquals(emb.Storage, head.Storage) && emb.StorageOffset == head.StorageOffset) return null;
        var a = new float[emb.Numel]; var b = new float[head.Numel];
        emb.CopyToFloat32(a); head.CopyToFloat32(b);
        double maxDiff = 0;
        for (int i = 0; i < a.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs((double)a[i] - b[i]));
        if (maxDiff == 0) return null;
        return $"{sd.SourcePath ?? "checkpoint"}: '{embKey}' and '{headKey}' are separate tensors that differ by up to {maxDiff:G4}; " +
               $"the model ties them (as every MiniMind generation does) and uses '{headKey}'. Pass --tie-embeddings false to keep both";
    }

    /// <summary>
    /// Throws an InvalidDataException naming the first key whose checkpoint shape differs from what
    /// <paramref name="c"/> lays out, with both shapes. Missing/unexpected keys are left to the loader.
    /// </summary>
    public static void CheckAgainst(ModelConfig c, StateDict sd, string source)
    {
        var layout = new ParameterLayout(c);
        foreach (var k in sd.Keys)
        {
            var n = StateDictLoader.NormalizeKey(k);
            if (!layout.Table.TryGet(n, out var e)) continue;
            var t = sd[k];
            if (!t.Shape.AsSpan().SequenceEqual(e.Shape))
                throw new InvalidDataException(
                    $"{source}: '{k}' has shape {t.ShapeText} in the checkpoint but the config ({Describe(c)}) expects {e.ShapeText}");
        }
    }

    /// <summary>One-line summary of a config, e.g. for errors and the start-up line.</summary>
    public static string Describe(ModelConfig c) =>
        $"--arch {c.Arch} --dim {c.Dim} --n-layers {c.NLayers} --n-heads {c.NHeads} --n-kv-heads {c.NKvHeads} --vocab-size {c.VocabSize} " +
        $"--hidden-dim {c.EffectiveHiddenDim}" + (c.UseMoe ? $" --use-moe --n-experts {c.NExperts} --top-k {c.TopK} --n-shared-experts {c.NSharedExperts}" : "");
}

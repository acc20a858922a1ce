using Minimind.Checkpoint;

namespace Minimind.Model;

/// <summary>
/// Reads a MiniMind architecture off a state dict's keys and shapes (<see cref="KeyTable"/> names, keys normalised
/// once by <see cref="CheckpointSource"/>): the candidate generations from the key names, vocabulary/width/depth/FFN
/// width/experts from the shapes, and the query heads where a q_norm gives them (kv heads then follow).
/// </summary>
public static class CheckpointShapes
{
    /// <summary>
    /// The presets whose key layout the state dict (normalised keys) uses: one for HF keys (<c>minimind3</c> when
    /// layer 0 has a q_norm, else <c>minimind2-hf</c>), two for the 2024/minimind2 keys, which the generations share
    /// (<c>minimind-v1</c>, <c>minimind2</c>: the file alone cannot tell them apart), none for other state dicts.
    /// </summary>
    public static IReadOnlyList<string> Generations(StateDict sd)
    {
        if (sd.ContainsKey(KeyTable.Hf[ParameterRole.Embedding]))
            return new[] { sd.ContainsKey(KeyTable.Hf[ParameterRole.QNorm]) ? "minimind3" : "minimind2-hf" };
        if (sd.ContainsKey(KeyTable.Legacy[ParameterRole.Embedding])) return new[] { "minimind-v1", "minimind2" };
        return Array.Empty<string>();
    }

    /// <summary>
    /// Fills the fields of <paramref name="c"/> that the checkpoint (normalised keys) determines, except those named
    /// in <paramref name="pinned"/> (set explicitly by the user or config.json; <see cref="CheckAgainst"/> then
    /// reports any disagreement). Field names are ModelConfig property names; <paramref name="read"/> gets those the
    /// shapes gave (empty when the file does not use <paramref name="c"/>'s key names at all).
    /// </summary>
    public static ModelConfig Infer(ModelConfig c, StateDict sd, IReadOnlySet<string> pinned, out IReadOnlySet<string> read)
    {
        var got = new HashSet<string>(StringComparer.Ordinal);
        read = got;
        var k = KeyTable.Of(c.Generation);
        bool Free(string f) => !pinned.Contains(f);
        ModelConfig Set(string field, ModelConfig value) { got.Add(field); return Free(field) ? value : c; }
        if (!sd.TryGetValue(k[ParameterRole.Embedding], out var emb) || emb.Rank != 2) return c;
        c = Set(nameof(ModelConfig.VocabSize), c with { VocabSize = emb.Shape[0] });
        c = Set(nameof(ModelConfig.Dim), c with { Dim = emb.Shape[1] });
        int layers = MaxIndex(sd, k.Pattern(ParameterRole.AttnNorm), "l") + 1;
        if (layers > 0) c = Set(nameof(ModelConfig.NLayers), c with { NLayers = layers });
        if (sd.TryGetValue(k[ParameterRole.QNorm], out var qn) && qn.Rank == 1 && qn.Shape[0] > 0 && c.Dim % qn.Shape[0] == 0)
            c = Set(nameof(ModelConfig.NHeads), c with { NHeads = c.Dim / qn.Shape[0] });
        if (sd.TryGetValue(k[ParameterRole.Wk], out var wk) && wk.Rank == 2 && c.NHeads > 0 && c.Dim % c.NHeads == 0
            && wk.Shape[0] % (c.Dim / c.NHeads) == 0)
            c = Set(nameof(ModelConfig.NKvHeads), c with { NKvHeads = wk.Shape[0] / (c.Dim / c.NHeads) });
        int experts = MaxIndex(sd, k.Pattern(ParameterRole.FfnGate, FfnSite.Expert), "i") + 1;
        bool moe = experts > 0;
        bool anyFfn = moe || sd.ContainsKey(k[ParameterRole.FfnGate]);
        if (anyFfn) c = Set(nameof(ModelConfig.UseMoe), c with { UseMoe = moe });
        if (moe)
        {
            c = Set(nameof(ModelConfig.NExperts), c with { NExperts = experts });
            int shared = k.NumbersSharedExperts
                ? MaxIndex(sd, k.Pattern(ParameterRole.FfnGate, FfnSite.Shared), "i") + 1
                : sd.ContainsKey(k[ParameterRole.FfnGate, 0, FfnSite.Shared]) ? 1 : 0;
            c = Set(nameof(ModelConfig.NSharedExperts), c with { NSharedExperts = shared });
        }
        if (sd.TryGetValue(k[ParameterRole.FfnGate, 0, moe ? FfnSite.Expert : FfnSite.Dense], out var w1) && w1.Rank == 2)
            c = Set(nameof(ModelConfig.HiddenDim), c with { HiddenDim = w1.Shape[0] });
        // Every MiniMind generation ties the head to the embedding, and MiniMind saves {k: v.half()}, which gives the
        // two keys separate (equal) storages: so the file's storage sharing says nothing, and the model stays tied
        // unless config.json (tie_word_embeddings) or --tie-embeddings says otherwise. TiedCopiesNote reports files
        // whose two copies differ.
        return c;
    }

    // The largest value of the pattern's group over the keys, or -1.
    private static int MaxIndex(StateDict sd, System.Text.RegularExpressions.Regex pattern, string group)
    {
        int max = -1;
        foreach (var key in sd.Keys)
            if (pattern.Match(key) is { Success: true } m) max = Math.Max(max, int.Parse(m.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture));
        return max;
    }

    /// <summary>
    /// When <paramref name="c"/> ties the head and <paramref name="sd"/> stores embedding and head as separate
    /// tensors whose values differ, a sentence saying by how much and which copy the tied model uses (the head,
    /// as MiniMind's <c>load_state_dict</c> also ends up with); null when they agree, share storage or one is absent.
    /// </summary>
    public static string? TiedCopiesNote(ModelConfig c, StateDict sd)
    {
        if (!c.TiedEmbeddings) return null;
        var k = KeyTable.Of(c.Generation);
        string embKey = k[ParameterRole.Embedding], headKey = k[ParameterRole.Head];
        var n = sd.WithNormalizedKeys();
        n.TryGetValue(embKey, out var emb);
        n.TryGetValue(headKey, out var head);
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
        var n = sd.WithNormalizedKeys();
        foreach (var k in n.Keys)
        {
            if (!layout.Table.TryGet(k, out var e)) continue;
            var t = n[k];
            if (!t.Shape.AsSpan().SequenceEqual(e.Shape))
                throw new InvalidDataException(
                    $"{source}: '{n.FileKey(k)}' has shape {t.ShapeText} in the checkpoint but the config ({Describe(c)}) expects {e.ShapeText}");
        }
    }

    /// <summary>One-line summary of a config, e.g. for errors and the start-up line.</summary>
    public static string Describe(ModelConfig c) =>
        $"--arch {c.Arch} --dim {c.Dim} --n-layers {c.NLayers} --n-heads {c.NHeads} --n-kv-heads {c.NKvHeads} --vocab-size {c.VocabSize} " +
        $"--hidden-dim {c.EffectiveHiddenDim}" + (c.UseMoe ? $" --use-moe --n-experts {c.NExperts} --top-k {c.TopK} --n-shared-experts {c.NSharedExperts}" : "");
}

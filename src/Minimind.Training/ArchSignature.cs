using System.Globalization;
using Minimind.Model;

namespace Minimind.Training;

/// <summary>
/// The architecture fields that decide a checkpoint's tensor layout and math, as ordered name/value
/// text pairs: stored in every resume state and compared on resume so that a checkpoint is never
/// loaded into a different model.
/// </summary>
public static class ArchSignature
{
    /// <summary>The fields of <paramref name="c"/> as (name, value) pairs, named as the CLI flags are.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Of(ModelConfig c)
    {
        static string F(float x) => x.ToString("R", CultureInfo.InvariantCulture);
        var r = new List<KeyValuePair<string, string>>
        {
            new("arch", c.Arch), new("generation", c.Generation.ToString()), new("dim", c.Dim.ToString(CultureInfo.InvariantCulture)),
            new("n-layers", c.NLayers.ToString(CultureInfo.InvariantCulture)), new("n-heads", c.NHeads.ToString(CultureInfo.InvariantCulture)),
            new("n-kv-heads", c.NKvHeads.ToString(CultureInfo.InvariantCulture)), new("vocab-size", c.VocabSize.ToString(CultureInfo.InvariantCulture)),
            new("hidden-dim", c.EffectiveHiddenDim.ToString(CultureInfo.InvariantCulture)), new("rope-theta", F(c.RopeTheta)),
            new("norm-eps", F(c.NormEps)), new("rope", c.Rope.ToString()), new("qk-norm", c.QkNorm ? "1" : "0"),
            new("tied-embeddings", c.TiedEmbeddings ? "1" : "0"), new("use-moe", c.UseMoe ? "1" : "0"),
        };
        if (c.UseMoe)
        {
            r.Add(new("n-experts", c.NExperts.ToString(CultureInfo.InvariantCulture)));
            r.Add(new("top-k", c.TopK.ToString(CultureInfo.InvariantCulture)));
            r.Add(new("n-shared-experts", c.NSharedExperts.ToString(CultureInfo.InvariantCulture)));
            r.Add(new("norm-topk-prob", c.NormTopKProb ? "1" : "0"));
            r.Add(new("aux-alpha", F(c.AuxAlpha)));
            r.Add(new("aux-kind", c.AuxKind.ToString()));
        }
        return r;
    }

    /// <summary>Human-readable differences ("dim: checkpoint 64, requested 128"); empty when equal.</summary>
    public static IReadOnlyList<string> Differences(IReadOnlyList<KeyValuePair<string, string>> stored, IReadOnlyList<KeyValuePair<string, string>> requested)
    {
        var a = stored.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var b = requested.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var diffs = new List<string>();
        foreach (var key in a.Keys.Union(b.Keys))
        {
            a.TryGetValue(key, out var x); b.TryGetValue(key, out var y);
            // The preset name alone does not change the layout; the fields it sets are compared one by one.
            if (key == "arch") continue;
            if (x != y) diffs.Add($"{key}: checkpoint {x ?? "(absent)"}, requested {y ?? "(absent)"}");
        }
        return diffs;
    }
}

using Minimind.Checkpoint;

namespace Minimind.Model.Lora;

/// <summary>
/// MiniMind's <c>merge_lora</c> on state dicts: every base <c>{linear}.weight</c> that has
/// <c>{linear}.lora.A.weight</c> and <c>.lora.B.weight</c> in the LoRA file becomes W + B·A (no scaling, as
/// MiniMind), computed in float32 and stored in the base tensor's dtype; every other tensor is kept as is.
/// </summary>
public static class LoraMerge
{
    /// <summary>The merged state dict; throws naming the key when an adapter has no base weight or the shapes disagree.</summary>
    public static StateDict Merge(StateDict baseWeights, StateDict lora, out int merged)
    {
        var adapters = new Dictionary<string, (TorchTensor? A, TorchTensor? B)>(StringComparer.Ordinal);
        foreach (var (rawKey, t) in lora)
        {
            string key = StateDictLoader.NormalizeKey(rawKey);
            int i = key.IndexOf(".lora.", StringComparison.Ordinal);
            if (i < 0) throw new InvalidDataException($"{lora.SourcePath}: '{rawKey}' is not a LoRA key (expected <linear>.lora.A.weight / .lora.B.weight)");
            string stem = key[..i], part = key[(i + ".lora.".Length)..];
            adapters.TryGetValue(stem, out var ab);
            adapters[stem] = part switch
            {
                "A.weight" => (t, ab.B),
                "B.weight" => (ab.A, t),
                _ => throw new InvalidDataException($"{lora.SourcePath}: '{rawKey}' is not a LoRA key (expected <linear>.lora.A.weight / .lora.B.weight)"),
            };
        }
        var baseKeys = baseWeights.Keys.ToDictionary(StateDictLoader.NormalizeKey, k => k, StringComparer.Ordinal);
        var replaced = new Dictionary<string, TorchTensor>(StringComparer.Ordinal);
        foreach (var (stem, (a, b)) in adapters)
        {
            if (a is null || b is null) throw new InvalidDataException($"{lora.SourcePath}: {stem} has only one of lora.A / lora.B");
            if (!baseKeys.TryGetValue(stem + ".weight", out var baseKey))
                throw new InvalidDataException($"{lora.SourcePath}: adapter {stem} has no {stem}.weight in {baseWeights.SourcePath}");
            var w = baseWeights[baseKey];
            bool ok = w.Shape.Length == 2 && a.Shape.Length == 2 && b.Shape.Length == 2;
            int n = ok ? w.Shape[0] : 0, k = ok ? w.Shape[1] : 0, r = ok ? a.Shape[0] : 0;
            if (!ok || a.Shape[1] != k || b.Shape[0] != n || b.Shape[1] != r)
                throw new InvalidDataException($"{stem}: base [{string.Join(",", w.Shape)}], lora.A [{string.Join(",", a.Shape)}], lora.B [{string.Join(",", b.Shape)}] do not fit W + B·A");
            float[] wf = w.ToFloat32(), af = a.ToFloat32(), bf = b.ToFloat32();
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++)
                {
                    float s = 0;
                    for (int t = 0; t < r; t++) s += bf[i * r + t] * af[t * k + j];
                    wf[i * k + j] += s;
                }
            replaced[baseKey] = TorchTensor.FromFloat32(wf, w.Shape, w.DType);
        }
        var result = new StateDict { SourcePath = baseWeights.SourcePath };
        foreach (var (key, t) in baseWeights) result.Add(key, replaced.TryGetValue(key, out var m) ? m : t);
        merged = replaced.Count;
        return result;
    }
}

using Minimind.Model;

namespace Minimind.Training.Rl;

/// <summary>One line of <see cref="GrpoMemoryParts"/>: what holds memory during a GRPO step, its bytes and how they were counted.</summary>
public sealed record MemoryPart(string Name, long Bytes, string Formula);

/// <summary>
/// The memory a GRPO step needs, part by part, counted by hand from the model config (not from the allocations), so a
/// backend's measured peak can be set against it (<c>minimind bench grpo-memory</c>) and a device's need predicted
/// before it is bought. float32 everywhere (the weights, moments and activations are float32 whatever --dtype; bf16
/// rounds operands inside the ops). Rows n = B·G sequences × (prompt + max-gen-len) positions, the model's row budget.
/// </summary>
public static class GrpoMemoryParts
{
    /// <summary>Tokens per KV-cache page (<see cref="Minimind.Model.Generation.RolloutEngineOptions.PageSize"/>'s default).</summary>
    public const int KvPageSize = 64;

    /// <summary>
    /// The parts of a step of <paramref name="prompts"/> × <paramref name="generations"/> sequences of
    /// <paramref name="promptTokens"/> + <paramref name="maxGenLen"/> positions on <paramref name="c"/>: the trained
    /// policy (weights, gradients, AdamW m and v, the activations its forward saves for the backward, the logits, one
    /// block's gradient scratch), the frozen reference (weights and a forward-only working set: one block's activations
    /// and its logits) and the rollout KV cache.
    /// </summary>
    public static IReadOnlyList<MemoryPart> Of(ModelConfig c, int prompts, int generations, int promptTokens, int maxGenLen)
    {
        int seqs = prompts * generations, t = promptTokens + maxGenLen;
        long n = (long)seqs * t, p = Parameters(c), V = c.VocabSize;
        int d = c.Dim, hd = c.HeadDim, h = c.NHeads, hkv = c.NKvHeads, hq = h * hd, hk = hkv * hd, f = c.EffectiveHiddenDim, L = c.NLayers;
        int k = c.TopK, e = c.NExperts;
        // One block's saved activations per row: rstd1, ln1, q, k, v, attention out, lse, x_mid, rstd2, ln2 (+ q/k before
        // their norm and the norms' rstd), then the FFN's gate, up and silu(gate)·up (MoE: router probs, top-k weight, ids,
        // permutation both ways, gathered rows, expert outputs, the experts' and shared experts' FFN).
        long block = 1 + d + hq + hk + hk + hq + h + d + 1 + d + (c.QkNorm ? hq + hk + h + hkv : 0)
            + (c.UseMoe ? e + k + 3L * k + 2L * k * d + 3L * k * f + 3L * c.NSharedExperts * f : 3L * f);
        long routing = c.UseMoe ? e + k : 0; // a block's router probs and top-k ids, which the MoE aux loss reads after a forward
        long ffRows = c.UseMoe ? Math.Max(n * k, n) : n;
        long rope = 2L * c.MaxSeqLen * (hd / 2); // cos and sin tables, per model
        // per row for every forward: final rstd, final norm out, the residual scratch, loss, row scale, ids, targets, starts
        long head = 1 + d + d + 1 + 1 + 3;
        long scratch = n * (2L * d + hq + hq + 2L * hk + (c.QkNorm ? hq + hk : 0)) + ffRows * 3L * f
            + (c.UseMoe ? n * k * (2L * d + 1) + 2 * n * e : 0);
        long pagesPerSeq = (t + KvPageSize - 1) / KvPageSize;
        long kvRows = seqs * pagesPerSeq * KvPageSize;
        string rows = $"n = {seqs} seqs x {t} positions = {n:N0} rows";
        return new MemoryPart[]
        {
            new("policy weights", 4 * p, $"{p:N0} parameters x 4 B"),
            new("policy gradients", 4 * p, "4 B per parameter"),
            new("AdamW m and v", 8 * p, "2 x 4 B per parameter"),
            new("reference weights", 4 * p, "4 B per parameter (frozen copy)"),
            new("update activations (saved by the forward)", 4 * (n * (L * block + (L + 1L) * d + head) + rope),
                $"{rows} x ({L} blocks x {block} + {L + 1} residuals x {d} + {head}) x 4 B"),
            new("update logits (become dlogits in place)", 4 * n * V, $"n x vocab {V} x 4 B"),
            new("update backward scratch (one block, reused)", 4 * scratch, "n x one block's activation gradients x 4 B"),
            new("reference forward (one block, reused)", 4 * (n * (block + (L - 1) * routing + d + head + V) + rope + (c.UseMoe ? n * e : 0)),
                $"n x (one block {block} + residual {d} + {head} + logits {V}) x 4 B"),
            new("rollout KV cache", 4 * (2L * L * kvRows * hk + seqs * (pagesPerSeq + 1)),
                $"{seqs} seqs x {L} layers x {hkv} kv heads x {hd} head dim x {kvRows / seqs} positions ({KvPageSize}-token pages) x 2 (k, v) x 4 B"),
        };
    }

    /// <summary>The parameter count of <paramref name="c"/> counted from its shapes: embedding (and untied head), per block
    /// the norms, q/k/v/o, q/k norms and the FFN (or router + experts + shared experts), the final norm.</summary>
    public static long Parameters(ModelConfig c)
    {
        long d = c.Dim, hd = c.HeadDim, hq = c.NHeads * hd, hk = c.NKvHeads * hd, f = c.EffectiveHiddenDim;
        long ffn = c.UseMoe ? c.NExperts * d + (c.NExperts + c.NSharedExperts) * 3 * d * f : 3 * d * f;
        long block = 2 * d + d * hq + 2 * d * hk + hq * d + (c.QkNorm ? 2 * hd : 0) + ffn;
        return c.VocabSize * d * (c.TiedEmbeddings ? 1 : 2) + c.NLayers * block + d;
    }
}

using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    // Keys per online-softmax block of the one-row decode path: scores live in a small stack buffer.
    private const int KeyBlock = 64;

    /// <summary>Folds keys 0..nKeys-1 (rows k + j·stride, v + j·stride) into one query row's online softmax (max m, sum l,
    /// unnormalised output acc of hd floats), in blocks of <see cref="KeyBlock"/> keys; s holds KeyBlock scores.</summary>
    private static unsafe void AttendKeys(float* q, float* k, float* v, int stride, int nKeys, int hd, float scale,
        float* acc, float* s, ref float m, ref float l)
    {
        for (int j0 = 0; j0 < nKeys; j0 += KeyBlock)
        {
            int nb = Math.Min(KeyBlock, nKeys - j0);
            var sb = new Span<float>(s, nb);
            AttentionMath.Dots(q, k + (long)j0 * stride, stride, nb, hd, scale, s);
            float newM = Math.Max(m, TensorPrimitives.Max(sb));
            float corr = MathF.Exp(m - newM);
            l *= corr;
            var accSpan = new Span<float>(acc, hd);
            TensorPrimitives.Multiply(accSpan, corr, accSpan);
            TensorPrimitives.Subtract(sb, newM, sb);
            TensorPrimitives.Exp(sb, sb);
            for (int j = 0; j < nb; j++) l += s[j];
            AttentionMath.AddWeightedRows(acc, v + (long)j0 * stride, stride, nb, s, hd);
            m = newM;
        }
    }

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape shape)
    {
        var (qn, kn, _) = OpContract.AttnSizes(shape);
        using var qr = RoundedOperand.Of(_work, q, qn, shape.Precision);
        using var kr = RoundedOperand.Of(_work, k, kn, shape.Precision);
        using var vr = RoundedOperand.Of(_work, v, kn, shape.Precision);
        var (oa, oo) = Arr(output); var (la, lo) = Arr(lse);
        var (qa, qo) = (qr.Data, qr.Offset); var (ka, ko) = (kr.Data, kr.Offset); var (va, vo) = (vr.Data, vr.Offset);
        CpuAttentionForward.Run(_work, Isa, shape, oa, oo, la, lo, qa, qo, ka, ko, va, vo);
    }

    /// <inheritdoc/>
    public void AttentionBackward(AttentionGradients grads, Tensor dOutput, AttentionSaved saved, AttnShape shape, WriteMode mode)
    {
        var (dq, dk, dv) = grads; var (q, k, v, output, lse) = saved;
        bool overwrite = mode == WriteMode.Overwrite;
        // The forward's rounded operands and the rounded incoming grad; output and lse are float32 as the forward wrote them.
        var (qn, kn, _) = OpContract.AttnSizes(shape);
        using var gr = RoundedOperand.Of(_work, dOutput, qn, shape.Precision);
        using var qr = RoundedOperand.Of(_work, q, qn, shape.Precision);
        using var kr = RoundedOperand.Of(_work, k, kn, shape.Precision);
        using var vr = RoundedOperand.Of(_work, v, kn, shape.Precision);
        var (dqa, dqo) = Arr(dq); var (dka, dko) = Arr(dk); var (dva, dvo) = Arr(dv); var (ga, go) = (gr.Data, gr.Offset);
        var (qa, qo) = (qr.Data, qr.Offset); var (ka, ko) = (kr.Data, kr.Offset); var (va, vo) = (vr.Data, vr.Offset);
        var (oa, oo) = Arr(output); var (la, lo) = Arr(lse);
        CpuAttentionBackward.Run(_work, Isa, shape,
            dqa, dqo, dka, dko, dva, dvo, ga, go, qa, qo, ka, ko, va, vo, oa, oo, la, lo, overwrite);
    }

    /// <inheritdoc/>
    public unsafe void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape shape, KvPages pages = default)
    {
        var (table, pastLens, pageSize, perSeq) = Pages(nameof(AttentionDecode), kCache, shape, pages);
        int newTokens = shape.NewTokens, heads = shape.Heads, kvHeads = shape.KvHeads, hd = shape.HeadDim;
        // The caches already hold rounded rows (KvCacheAppend rounds at the same precision); only q is rounded here.
        using var qr = RoundedOperand.Of(_work, q, (long)shape.Batch * newTokens * heads * hd, shape.Precision);
        var (oa, oo) = Arr(output); var (qa, qo) = (qr.Data, qr.Offset); var (ka, ko) = Arr(kCache); var (va, vo) = Arr(vCache);
        int rep = heads / kvHeads, stride = kvHeads * hd;
        float scale = 1f / MathF.Sqrt(hd);
        _work.ForEach(shape.Batch * newTokens * heads, item =>
        {
            int h = item % heads, bi = item / heads, b = bi / newTokens, i = bi % newTokens;
            int row = item * hd, keys = pastLens[b] + i + 1;
            float* acc = stackalloc float[hd];
            float* sc = stackalloc float[KeyBlock];
            new Span<float>(acc, hd).Clear();
            float m = float.NegativeInfinity, l = 0f;
            // One page at a time: its rows are contiguous (pages of a multiple of KeyBlock rows block the keys as one run would).
            fixed (float* po = oa, pq = qa, pk = ka, pv = va)
            {
                for (int p = 0; p * pageSize < keys; p++)
                {
                    long at = ((long)table[b * perSeq + p] * pageSize * kvHeads + h / rep) * hd;
                    AttendKeys(pq + qo + row, pk + ko + at, pv + vo + at, stride, Math.Min(pageSize, keys - p * pageSize), hd, scale, acc, sc, ref m, ref l);
                }
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc, hd), 1f / l, new Span<float>(po + oo + row, hd));
            }
        });
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape shape, KvPages pages = default)
    {
        var (table, pastLens, pageSize, perSeq) = Pages(nameof(KvCacheAppend), kCache, shape, pages);
        int newTokens = shape.NewTokens, rowLen = shape.KvHeads * shape.HeadDim;
        var kc = Span(kCache); var vc = Span(vCache); var ks = Span(k); var vs = Span(v);
        for (int b = 0; b < shape.Batch; b++)
            for (int i = 0; i < newTokens; i++)
            {
                int j = pastLens[b] + i, src = (b * newTokens + i) * rowLen;
                int dst = (table[b * perSeq + j / pageSize] * pageSize + j % pageSize) * rowLen;
                PrecisionRounding.Round(ks.Slice(src, rowLen), kc.Slice(dst, rowLen), shape.Precision);
                PrecisionRounding.Round(vs.Slice(src, rowLen), vc.Slice(dst, rowLen), shape.Precision);
            }
    }

    // The page table, per-sequence lengths, page size and table stride of a decode call: the paged arguments (checked), or
    // the contiguous cache as one page of Capacity rows per sequence, all at PastLen.
    private static (int[] Table, int[] PastLens, int PageSize, int PerSeq) Pages(string op, Tensor kCache, DecodeShape s, KvPages pages)
    {
        if (pages.IsEmpty)
        {
            var pastLen = new int[s.Batch];
            Array.Fill(pastLen, s.PastLen);
            return (Enumerable.Range(0, s.Batch).ToArray(), pastLen, s.Capacity, 1);
        }
        var table = Span(pages.Table)[..(s.Batch * pages.PagesPerSeq)].ToArray();
        var lens = Span(pages.PastLens)[..s.Batch].ToArray();
        OpContract.PageData(op, table, lens, s, pages, kCache.Length / ((long)pages.PageSize * s.KvHeads * s.HeadDim));
        return (table, lens, pages.PageSize, pages.PagesPerSeq);
    }
}

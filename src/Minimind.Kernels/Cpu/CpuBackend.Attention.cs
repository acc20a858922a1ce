using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Keys per online-softmax block of the one-row decode path: scores live in a small stack buffer.
    private const int KeyBlock = 64;

    /// <summary>One query row against keys 0..nKeys-1 (rows k + j·stride, v + j·stride): online softmax over key
    /// blocks; writes the output row and returns the log-sum-exp of the scaled scores. acc holds hd floats,
    /// s holds <see cref="KeyBlock"/>.</summary>
    private static unsafe float AttendRow(float* q, float* k, float* v, int stride, int nKeys, int hd, float scale,
        float* output, float* acc, float* s)
    {
        new Span<float>(acc, hd).Clear();
        float m = float.NegativeInfinity, l = 0f;
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
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(acc, hd), 1f / l, new Span<float>(output, hd));
        return m + MathF.Log(l);
    }

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape shape)
    {
        OpContract.Attention(output, lse, q, k, v, shape, Limits);
        var (qn, kn, _) = OpContract.AttnSizes(shape);
        using var qr = RoundedOperand.Of(_work, q, qn, shape.Precision);
        using var kr = RoundedOperand.Of(_work, k, kn, shape.Precision);
        using var vr = RoundedOperand.Of(_work, v, kn, shape.Precision);
        var (oa, oo) = Arr(output); var (la, lo) = Arr(lse);
        var (qa, qo) = (qr.Data, qr.Offset); var (ka, ko) = (kr.Data, kr.Offset); var (va, vo) = (vr.Data, vr.Offset);
        CpuAttentionForward.Run(_work, Isa, shape, oa, oo, la, lo, qa, qo, ka, ko, va, vo);
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        AttnShape shape, WriteMode mode)
    {
        OpContract.AttentionBackward(dq, dk, dv, dOutput, q, k, v, output, lse, shape, mode, Limits);
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
    public unsafe void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape shape)
    {
        OpContract.AttentionDecode(output, q, kCache, vCache, shape, Limits);
        int batch = shape.Batch, newTokens = shape.NewTokens, pastLen = shape.PastLen, capacity = shape.Capacity;
        int heads = shape.Heads, kvHeads = shape.KvHeads, headDim = shape.HeadDim;
        // The caches already hold rounded rows (KvCacheAppend rounds at the same precision); only q is rounded here.
        using var qr = RoundedOperand.Of(_work, q, (long)batch * newTokens * heads * headDim, shape.Precision);
        var (oa, oo) = Arr(output); var (qa, qo) = (qr.Data, qr.Offset); var (ka, ko) = Arr(kCache); var (va, vo) = Arr(vCache);
        int rep = heads / kvHeads, hd = headDim, H = heads, stride = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(hd);
        _work.ForEach(batch * newTokens * H, item =>
        {
            int h = item % H, bi = item / H, b = bi / newTokens, i = bi % newTokens;
            int kv = (b * capacity * kvHeads + h / rep) * hd;
            int row = item * hd;
            float* acc = stackalloc float[hd];
            float* sc = stackalloc float[KeyBlock];
            fixed (float* po = oa, pq = qa, pk = ka, pv = va)
                AttendRow(pq + qo + row, pk + ko + kv, pv + vo + kv, stride, pastLen + i + 1, hd, scale, po + oo + row, acc, sc);
        });
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape shape)
    {
        OpContract.KvCacheAppend(kCache, vCache, k, v, shape, Limits);
        int batch = shape.Batch, newTokens = shape.NewTokens, pastLen = shape.PastLen, capacity = shape.Capacity;
        int rowLen = shape.KvHeads * shape.HeadDim;
        var kc = Span(kCache); var vc = Span(vCache); var ks = Span(k); var vs = Span(v);
        for (int b = 0; b < batch; b++)
        {
            int src = b * newTokens * rowLen, dst = (b * capacity + pastLen) * rowLen, len = newTokens * rowLen;
            PrecisionRounding.Round(ks.Slice(src, len), kc.Slice(dst, len), shape.Precision);
            PrecisionRounding.Round(vs.Slice(src, len), vc.Slice(dst, len), shape.Precision);
        }
    }
}

using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Keys per online-softmax block of the one-row decode path: scores live in a small stack buffer.
    private const int KeyBlock = 64;

    private static void CheckHeads(string op, int heads, int kvHeads, int headDim)
    {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(heads), $"{op}: heads ({heads}) must be a positive multiple of kvHeads ({kvHeads})");
        if (headDim <= 0) throw new ArgumentOutOfRangeException(nameof(headDim), $"{op}: headDim must be > 0, got {headDim}");
    }

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
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        const string op = nameof(Attention);
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(seqLen, op, nameof(seqLen)); CheckHeads(op, heads, kvHeads, headDim);
        long qn = (long)batch * seqLen * heads * headDim, kn = (long)batch * seqLen * kvHeads * headDim;
        Need(output, qn, op, nameof(output)); Need(lse, (long)batch * heads * seqLen, op, nameof(lse));
        Need(q, qn, op, nameof(q)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
        var (oa, oo) = Arr(output); var (la, lo) = Arr(lse); var (qa, qo) = Arr(q); var (ka, ko) = Arr(k); var (va, vo) = Arr(v);
        CpuAttentionForward.Run(_work, new AttentionBlocks(batch, seqLen, heads, kvHeads, headDim), oa, oo, la, lo, qa, qo, ka, ko, va, vo);
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        const string op = nameof(AttentionBackward);
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(seqLen, op, nameof(seqLen)); CheckHeads(op, heads, kvHeads, headDim);
        long qn = (long)batch * seqLen * heads * headDim, kn = (long)batch * seqLen * kvHeads * headDim;
        Need(dq, qn, op, nameof(dq)); Need(dk, kn, op, nameof(dk)); Need(dv, kn, op, nameof(dv));
        Need(dOutput, qn, op, nameof(dOutput)); Need(q, qn, op, nameof(q)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
        Need(output, qn, op, nameof(output)); Need(lse, (long)batch * heads * seqLen, op, nameof(lse));
        var (dqa, dqo) = Arr(dq); var (dka, dko) = Arr(dk); var (dva, dvo) = Arr(dv); var (ga, go) = Arr(dOutput);
        var (qa, qo) = Arr(q); var (ka, ko) = Arr(k); var (va, vo) = Arr(v); var (oa, oo) = Arr(output); var (la, lo) = Arr(lse);
        CpuAttentionBackward.Run(_work, new AttentionBlocks(batch, seqLen, heads, kvHeads, headDim),
            dqa, dqo, dka, dko, dva, dvo, ga, go, qa, qo, ka, ko, va, vo, oa, oo, la, lo, overwrite: false);
    }

    /// <inheritdoc/>
    public unsafe void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, int batch, int newTokens, int pastLen, int capacity,
        int heads, int kvHeads, int headDim)
    {
        const string op = nameof(AttentionDecode);
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(newTokens, op, nameof(newTokens)); OpChecks.NonNegative(pastLen, op, nameof(pastLen));
        CheckHeads(op, heads, kvHeads, headDim);
        if (pastLen + newTokens > capacity)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"{op}: pastLen {pastLen} + newTokens {newTokens} exceeds cache capacity {capacity}");
        long qn = (long)batch * newTokens * heads * headDim, cn = (long)batch * capacity * kvHeads * headDim;
        Need(output, qn, op, nameof(output)); Need(q, qn, op, nameof(q)); Need(kCache, cn, op, nameof(kCache)); Need(vCache, cn, op, nameof(vCache));
        var (oa, oo) = Arr(output); var (qa, qo) = Arr(q); var (ka, ko) = Arr(kCache); var (va, vo) = Arr(vCache);
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
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, int batch, int newTokens, int pastLen, int capacity, int kvHeads, int headDim)
    {
        const string op = nameof(KvCacheAppend);
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(newTokens, op, nameof(newTokens)); OpChecks.NonNegative(pastLen, op, nameof(pastLen));
        if (pastLen + newTokens > capacity)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"{op}: pastLen {pastLen} + newTokens {newTokens} exceeds cache capacity {capacity}");
        int rowLen = kvHeads * headDim;
        long cn = (long)batch * capacity * rowLen, kn = (long)batch * newTokens * rowLen;
        Need(kCache, cn, op, nameof(kCache)); Need(vCache, cn, op, nameof(vCache)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
        var kc = Span(kCache); var vc = Span(vCache); var ks = Span(k); var vs = Span(v);
        for (int b = 0; b < batch; b++)
        {
            int src = b * newTokens * rowLen, dst = (b * capacity + pastLen) * rowLen, len = newTokens * rowLen;
            ks.Slice(src, len).CopyTo(kc.Slice(dst, len));
            vs.Slice(src, len).CopyTo(vc.Slice(dst, len));
        }
    }
}

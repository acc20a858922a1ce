using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    // Keys per online-softmax block: scores of one block live in a small stack buffer, never a T×T matrix.
    private const int KeyBlock = 64;
    // Rows per parallel work item (rows are independent, so grouping never changes results).
    private const int RowBlock = 16;

    private static void CheckHeads(string op, int heads, int kvHeads, int headDim)
    {
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(heads), $"{op}: heads ({heads}) must be a positive multiple of kvHeads ({kvHeads})");
        if (headDim <= 0) throw new ArgumentOutOfRangeException(nameof(headDim), $"{op}: headDim must be > 0, got {headDim}");
    }

    /// <summary>One query row against keys 0..nKeys-1 (k rows kBase + j·stride, v rows vBase + j·stride):
    /// online softmax over key blocks; writes the output row and returns the log-sum-exp of the scaled scores.</summary>
    private static float AttendRow(ReadOnlySpan<float> q, float[] ka, int kBase, float[] va, int vBase, int stride, int nKeys, int hd,
        float scale, Span<float> output, Span<float> acc)
    {
        Span<float> scores = stackalloc float[KeyBlock];
        acc.Clear();
        float m = float.NegativeInfinity, l = 0f;
        for (int j0 = 0; j0 < nKeys; j0 += KeyBlock)
        {
            int nb = Math.Min(KeyBlock, nKeys - j0);
            float bmax = float.NegativeInfinity;
            for (int j = 0; j < nb; j++)
            {
                float s = TensorPrimitives.Dot(q, ka.AsSpan(kBase + (j0 + j) * stride, hd)) * scale;
                scores[j] = s;
                if (s > bmax) bmax = s;
            }
            float newM = Math.Max(m, bmax);
            float corr = MathF.Exp(m - newM);
            l *= corr;
            TensorPrimitives.Multiply(acc, corr, acc);
            for (int j = 0; j < nb; j++)
            {
                float p = MathF.Exp(scores[j] - newM);
                l += p;
                TensorPrimitives.MultiplyAdd(va.AsSpan(vBase + (j0 + j) * stride, hd), p, acc, acc);
            }
            m = newM;
        }
        TensorPrimitives.Multiply(acc, 1f / l, output);
        return m + MathF.Log(l);
    }

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        const string op = nameof(Attention);
        Positive(batch, op, nameof(batch)); Positive(seqLen, op, nameof(seqLen)); CheckHeads(op, heads, kvHeads, headDim);
        long qn = (long)batch * seqLen * heads * headDim, kn = (long)batch * seqLen * kvHeads * headDim;
        Need(output, qn, op, nameof(output)); Need(lse, (long)batch * heads * seqLen, op, nameof(lse));
        Need(q, qn, op, nameof(q)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
        var (oa, oo) = Arr(output); var (la, lo) = Arr(lse); var (qa, qo) = Arr(q); var (ka, ko) = Arr(k); var (va, vo) = Arr(v);
        int rep = heads / kvHeads, hd = headDim, T = seqLen, H = heads, stride = kvHeads * headDim;
        float scale = 1f / MathF.Sqrt(hd);
        int blocks = (T + RowBlock - 1) / RowBlock;
        _work.ForEach(batch * H * blocks, item =>
        {
            int bh = item / blocks, t0 = item % blocks * RowBlock;
            int b = bh / H, h = bh % H;
            int kv = (b * T * kvHeads + h / rep) * hd;
            var acc = new float[hd];
            for (int t = t0; t < Math.Min(T, t0 + RowBlock); t++)
            {
                int row = ((b * T + t) * H + h) * hd;
                la[lo + bh * T + t] = AttendRow(qa.AsSpan(qo + row, hd), ka, ko + kv, va, vo + kv, stride, t + 1, hd, scale,
                    oa.AsSpan(oo + row, hd), acc);
            }
        });
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        const string op = nameof(AttentionBackward);
        Positive(batch, op, nameof(batch)); Positive(seqLen, op, nameof(seqLen)); CheckHeads(op, heads, kvHeads, headDim);
        long qn = (long)batch * seqLen * heads * headDim, kn = (long)batch * seqLen * kvHeads * headDim;
        Need(dq, qn, op, nameof(dq)); Need(dk, kn, op, nameof(dk)); Need(dv, kn, op, nameof(dv));
        Need(dOutput, qn, op, nameof(dOutput)); Need(q, qn, op, nameof(q)); Need(k, kn, op, nameof(k)); Need(v, kn, op, nameof(v));
        Need(output, qn, op, nameof(output)); Need(lse, (long)batch * heads * seqLen, op, nameof(lse));
        var (dqa, dqo) = Arr(dq); var (dka, dko) = Arr(dk); var (dva, dvo) = Arr(dv); var (ga, go) = Arr(dOutput);
        var (qa, qo) = Arr(q); var (ka, ko) = Arr(k); var (va, vo) = Arr(v); var (oa, oo) = Arr(output); var (la, lo) = Arr(lse);
        int rep = heads / kvHeads, hd = headDim, T = seqLen, H = heads, Hkv = kvHeads, stride = Hkv * hd;
        float scale = 1f / MathF.Sqrt(hd);
        int blocks = (T + RowBlock - 1) / RowBlock;

        // D[b,h,t] = dO·O, the softmax-backward row term.
        var dRow = new float[batch * H * T];
        _work.For(batch * T * H, 256, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int h = (int)(r % H), bt = (int)(r / H), b = bt / T, t = bt % T;
                dRow[(b * H + h) * T + t] = TensorPrimitives.Dot(ga.AsSpan(go + (int)r * hd, hd), oa.AsSpan(oo + (int)r * hd, hd));
            }
        });

        // Pass 1, dq per query row: dq_t += scale·Σ_j p_tj (dO_t·v_j − D_t) k_j.
        _work.ForEach(batch * H * blocks, item =>
        {
            int bh = item / blocks, t0 = item % blocks * RowBlock;
            int b = bh / H, h = bh % H;
            int kv = (b * T * Hkv + h / rep) * hd;
            var acc = new float[hd];
            for (int t = t0; t < Math.Min(T, t0 + RowBlock); t++)
            {
                int row = ((b * T + t) * H + h) * hd;
                var qr = qa.AsSpan(qo + row, hd); var gr = ga.AsSpan(go + row, hd);
                float lseT = la[lo + bh * T + t], dT = dRow[bh * T + t];
                acc.AsSpan().Clear();
                for (int j = 0; j <= t; j++)
                {
                    var kr = ka.AsSpan(ko + kv + j * stride, hd);
                    float p = MathF.Exp(TensorPrimitives.Dot(qr, kr) * scale - lseT);
                    float ds = p * (TensorPrimitives.Dot(gr, va.AsSpan(vo + kv + j * stride, hd)) - dT);
                    TensorPrimitives.MultiplyAdd(kr, ds, acc, acc);
                }
                var dst = dqa.AsSpan(dqo + row, hd);
                TensorPrimitives.MultiplyAdd(acc, scale, dst, dst);
            }
        });

        // Pass 2, dk/dv per key row: query heads of the group in ascending order, then t ascending.
        _work.ForEach(batch * Hkv * blocks, item =>
        {
            int bg = item / blocks, j0 = item % blocks * RowBlock;
            int b = bg / Hkv, g = bg % Hkv;
            var accK = new float[hd]; var accV = new float[hd];
            for (int j = j0; j < Math.Min(T, j0 + RowBlock); j++)
            {
                int krow = ((b * T + j) * Hkv + g) * hd;
                var kr = ka.AsSpan(ko + krow, hd); var vr = va.AsSpan(vo + krow, hd);
                accK.AsSpan().Clear(); accV.AsSpan().Clear();
                for (int h = g * rep; h < (g + 1) * rep; h++)
                {
                    int bh = b * H + h;
                    for (int t = j; t < T; t++)
                    {
                        int row = ((b * T + t) * H + h) * hd;
                        var qr = qa.AsSpan(qo + row, hd); var gr = ga.AsSpan(go + row, hd);
                        float p = MathF.Exp(TensorPrimitives.Dot(qr, kr) * scale - la[lo + bh * T + t]);
                        float ds = p * (TensorPrimitives.Dot(gr, vr) - dRow[bh * T + t]);
                        TensorPrimitives.MultiplyAdd(gr, p, accV, accV);
                        TensorPrimitives.MultiplyAdd(qr, ds, accK, accK);
                    }
                }
                var dkr = dka.AsSpan(dko + krow, hd); var dvr = dva.AsSpan(dvo + krow, hd);
                TensorPrimitives.MultiplyAdd(accK, scale, dkr, dkr);
                TensorPrimitives.Add(dvr, accV, dvr);
            }
        });
    }

    /// <inheritdoc/>
    public void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, int batch, int newTokens, int pastLen, int capacity,
        int heads, int kvHeads, int headDim)
    {
        const string op = nameof(AttentionDecode);
        Positive(batch, op, nameof(batch)); Positive(newTokens, op, nameof(newTokens)); Positive(pastLen, op, nameof(pastLen));
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
            AttendRow(qa.AsSpan(qo + row, hd), ka, ko + kv, va, vo + kv, stride, pastLen + i + 1, hd, scale,
                oa.AsSpan(oo + row, hd), new float[hd]);
        });
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, int batch, int newTokens, int pastLen, int capacity, int kvHeads, int headDim)
    {
        const string op = nameof(KvCacheAppend);
        Positive(batch, op, nameof(batch)); Positive(newTokens, op, nameof(newTokens)); Positive(pastLen, op, nameof(pastLen));
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

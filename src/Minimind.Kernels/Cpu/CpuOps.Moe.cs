using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void TopK(Tensor weights, IntTensor indices, Tensor probs, TopKShape shape, bool normalize)
    {
        int rows = shape.Rows, cols = shape.Cols, k = shape.K;
        var (wa, wo) = Arr(weights); var (ia, io) = Arr(indices); var (pa, po) = Arr(probs);
        _work.For(rows, 256, (s, e) =>
        {
            Span<bool> taken = cols <= 256 ? stackalloc bool[cols] : new bool[cols];
            for (long r = s; r < e; r++)
            {
                taken.Clear();
                int pb = po + (int)(r * cols), ob = (int)(r * k);
                float sum = 0f;
                for (int j = 0; j < k; j++)
                {
                    // Strictly-greater scan: among equal values the lowest index wins.
                    int best = -1; float bv = 0f;
                    for (int c = 0; c < cols; c++)
                    {
                        if (taken[c]) continue;
                        float v = pa[pb + c];
                        if (best < 0 || v > bv) { best = c; bv = v; }
                    }
                    taken[best] = true;
                    ia[io + ob + j] = best;
                    wa[wo + ob + j] = bv;
                    sum += bv;
                }
                if (normalize)
                {
                    float den = sum + 1e-20f;
                    for (int j = 0; j < k; j++) wa[wo + ob + j] /= den;
                }
            }
        });
    }

    /// <inheritdoc/>
    public void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, TopKShape shape, bool normalize, WriteMode mode)
    {
        int rows = shape.Rows, cols = shape.Cols, k = shape.K;
        bool overwrite = mode == WriteMode.Overwrite;
        var (da, dof) = Arr(dProbs); var (ga, go) = Arr(dWeights); var (pa, po) = Arr(probs); var (ia, io) = Arr(indices);
        _work.For(rows, 256, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int pb = (int)(r * cols), ob = (int)(r * k);
                if (overwrite) da.AsSpan(dof + pb, cols).Clear();
                if (!normalize)
                {
                    for (int j = 0; j < k; j++) da[dof + pb + ia[io + ob + j]] += ga[go + ob + j];
                    continue;
                }
                // w_j = p_j / S with S = Σ p + 1e-20: ∂L/∂p_j = g_j/S − Σ_i g_i p_i / S².
                float sum = 0f; double gp = 0;
                for (int j = 0; j < k; j++)
                {
                    float p = pa[po + pb + ia[io + ob + j]];
                    sum += p;
                    gp += (double)ga[go + ob + j] * p;
                }
                double den = sum + 1e-20f;
                double common = gp / (den * den);
                for (int j = 0; j < k; j++)
                    da[dof + pb + ia[io + ob + j]] += (float)(ga[go + ob + j] / den - common);
            }
        });
    }

    /// <inheritdoc/>
    public int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, RouteShape shape)
    {
        const string op = nameof(MoeRoute);
        int assignments = shape.Assignments, experts = shape.Experts;
        var (pa, po) = Arr(perm); var (qa, qo) = Arr(invPerm); var (ia, io) = Arr(indices);
        var counts = new int[experts];
        for (int a = 0; a < assignments; a++)
        {
            int ex = ia[io + a];
            if (ex < 0 || ex >= experts)
                throw new ArgumentOutOfRangeException(nameof(indices), $"{op}: indices[{a}] = {ex} is outside [0, {experts})");
            counts[ex]++;
        }
        // Counting sort: ascending a inside each expert keeps it stable.
        var next = new int[experts];
        for (int ex = 1; ex < experts; ex++) next[ex] = next[ex - 1] + counts[ex - 1];
        for (int a = 0; a < assignments; a++)
        {
            int j = next[ia[io + a]]++;
            pa[po + j] = a;
            qa[qo + a] = j;
        }
        return counts;
    }

    /// <inheritdoc/>
    public void MoeGather(Tensor xs, Tensor x, IntTensor perm, MoeShape shape)
    {
        const string op = nameof(MoeGather);
        int n = shape.Assignments, k = shape.K, dim = shape.Dim;
        var (sa, so) = Arr(xs); var (xa, xo) = Arr(x); var (pa, po) = Arr(perm);
        CheckPerm(op, nameof(perm), pa, po, n);
        _work.For(n, 32, (s, e) =>
        {
            for (long j = s; j < e; j++)
                xa.AsSpan(xo + pa[po + j] / k * dim, dim).CopyTo(sa.AsSpan(so + (int)j * dim, dim));
        });
    }

    /// <inheritdoc/>
    public void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, MoeShape shape, WriteMode mode)
    {
        const string op = nameof(MoeGatherBackward);
        int n = shape.Assignments, tokens = shape.Tokens, k = shape.K, dim = shape.Dim;
        bool overwrite = mode == WriteMode.Overwrite;
        var (da, dof) = Arr(dx); var (sa, so) = Arr(dxs); var (qa, qo) = Arr(invPerm);
        CheckPerm(op, nameof(invPerm), qa, qo, n);
        _work.For(tokens, 16, (s, e) =>
        {
            for (long t = s; t < e; t++)
            {
                var dst = da.AsSpan(dof + (int)t * dim, dim);
                if (overwrite) dst.Clear();
                for (int sl = 0; sl < k; sl++)
                    TensorPrimitives.Add(dst, sa.AsSpan(so + qa[qo + (int)t * k + sl] * dim, dim), dst);
            }
        });
    }

    /// <inheritdoc/>
    public void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, MoeShape shape, WriteMode mode)
    {
        const string op = nameof(MoeCombine);
        int n = shape.Assignments, tokens = shape.Tokens, k = shape.K, dim = shape.Dim;
        bool overwrite = mode == WriteMode.Overwrite;
        var (ya, yo) = Arr(y); var (ea, eo) = Arr(expertOut); var (wa, wo) = Arr(weights); var (qa, qo) = Arr(invPerm);
        CheckPerm(op, nameof(invPerm), qa, qo, n);
        _work.For(tokens, 16, (s, e) =>
        {
            for (long t = s; t < e; t++)
            {
                var dst = ya.AsSpan(yo + (int)t * dim, dim);
                if (overwrite) dst.Clear();
                for (int sl = 0; sl < k; sl++)
                {
                    int a = (int)t * k + sl;
                    TensorPrimitives.MultiplyAdd(ea.AsSpan(eo + qa[qo + a] * dim, dim), wa[wo + a], dst, dst);
                }
            }
        });
    }

    /// <inheritdoc/>
    public void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        MoeShape shape, WriteMode mode)
    {
        const string op = nameof(MoeCombineBackward);
        int n = shape.Assignments, k = shape.K, dim = shape.Dim;
        bool overwrite = mode == WriteMode.Overwrite;
        var (dea, deo) = Arr(dExpertOut); var (dwa, dwo) = Arr(dWeights); var (dya, dyo) = Arr(dy);
        var (ea, eo) = Arr(expertOut); var (wa, wo) = Arr(weights); var (qa, qo) = Arr(invPerm);
        CheckPerm(op, nameof(invPerm), qa, qo, n);
        // invPerm is a permutation, so every assignment owns distinct rows: parallel over assignments is race-free.
        _work.For(n, 32, (s, e) =>
        {
            for (long a = s; a < e; a++)
            {
                int j = qa[qo + a];
                var dyr = dya.AsSpan(dyo + (int)(a / k) * dim, dim);
                var dst = dea.AsSpan(deo + j * dim, dim);
                float dot = LaneSum.Dot(Isa, dyr, ea.AsSpan(eo + j * dim, dim));
                if (overwrite) { TensorPrimitives.Multiply(dyr, wa[wo + a], dst); dwa[dwo + a] = dot; }
                else { TensorPrimitives.MultiplyAdd(dyr, wa[wo + a], dst, dst); dwa[dwo + a] += dot; }
            }
        });
    }

    // Every entry of a permutation over n assignments must lie in [0, n) before it indexes a buffer.
    private static void CheckPerm(string op, string name, int[] qa, int qo, int n)
    {
        for (int a = 0; a < n; a++)
            if ((uint)qa[qo + a] >= (uint)n) throw new ArgumentOutOfRangeException(name, $"{op}: {name}[{a}] = {qa[qo + a]} is outside [0, {n})");
    }

    /// <inheritdoc/>
    public float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, AuxLossShape shape, float alpha, AuxLossKind kind, float gradScale)
    {
        const string op = nameof(MoeAuxLoss);
        int batch = shape.Batch, seqLen = shape.SeqLen, experts = shape.Experts, k = shape.K, n = batch * seqLen;
        bool grad = !dProbs.IsEmpty;
        var (pa, po) = Arr(probs); var (ia, io) = Arr(indices);
        int groups = MoeAuxLossHost.Groups(kind, batch), rowsPer = n / groups;
        var perGroup = new float[groups * experts];
        double loss = MoeAuxLossHost.Compute(op, pa.AsSpan(po, n * experts), ia.AsSpan(io, n * k), batch, seqLen, experts, k, alpha, kind,
            gradScale, perGroup);
        if (grad)
        {
            var (da, dof) = Arr(dProbs);
            for (int r = 0; r < n; r++)
                for (int ex = 0; ex < experts; ex++)
                    da[dof + r * experts + ex] += perGroup[r / rowsPer * experts + ex];
        }
        return (float)loss;
    }
}

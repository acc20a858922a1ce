using Minimind.Kernels.Distributed;

namespace Minimind.Kernels;

/// <summary>
/// The op contract of <see cref="IBackend"/> enforced once, for every backend: a decorator that checks each op's
/// arguments with <see cref="OpContract"/> (shapes, tensor lengths, write modes, the backend's <see cref="BackendLimits"/>)
/// before the wrapped backend sees them, and returns without calling it when an op has no output elements to write, so
/// a backend's op runs only on valid arguments and non-empty work. <see cref="Cpu.CpuBackend"/> and
/// <see cref="Ilgpu.IlgpuBackend"/> are this decorator around their kernels, so no backend can be created unchecked.
/// Data checks that need the values (ids, targets, page tables on the host) stay with the backends that see them.
/// </summary>
/// <param name="inner">The backend that runs the ops; it may assume checked arguments and at least one output element.</param>
public class CheckedBackend(IBackend inner) : IBackend
{
    private readonly IBackend _inner = inner;
    // Read once: the CPU and ILGPU limits are fixed at construction, and every matmul and attention op consults them.
    private readonly BackendLimits _limits = inner.Limits;

    /// <summary>The wrapped backend (for the concrete backends' own members).</summary>
    protected IBackend Inner => _inner;

    /// <inheritdoc/>
    public string Name => _inner.Name;
    /// <inheritdoc/>
    public string DeviceName => _inner.DeviceName;
    /// <inheritdoc/>
    public BackendLimits Limits => _limits;
    /// <inheritdoc/>
    public IRankTransport Transport => _inner.Transport;

    /// <summary>Disposes the wrapped backend.</summary>
    public void Dispose()
    {
        _inner.Dispose();
        GC.SuppressFinalize(this);
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public BufferTally Memory => _inner.Memory;
    /// <inheritdoc/>
    public Tensor Alloc(long length) => _inner.Alloc(length);
    /// <inheritdoc/>
    public IntTensor AllocInt(long length) => _inner.AllocInt(length);

    /// <inheritdoc/>
    public void Upload(Tensor dst, ReadOnlySpan<float> src)
    {
        OpContract.Transfer(dst, src.Length, nameof(Upload), nameof(dst));
        if (src.Length > 0) _inner.Upload(dst, src);
    }

    /// <inheritdoc/>
    public void Upload(IntTensor dst, ReadOnlySpan<int> src)
    {
        OpContract.Transfer(dst, src.Length, nameof(Upload), nameof(dst));
        if (src.Length > 0) _inner.Upload(dst, src);
    }

    // An empty download still synchronises, as the contract promises.
    /// <inheritdoc/>
    public void Download(Tensor src, Span<float> dst)
    {
        OpContract.Transfer(src, dst.Length, nameof(Download), nameof(src));
        if (dst.Length > 0) _inner.Download(src, dst);
        else _inner.Synchronize();
    }

    /// <inheritdoc/>
    public void Download(IntTensor src, Span<int> dst)
    {
        OpContract.Transfer(src, dst.Length, nameof(Download), nameof(src));
        if (dst.Length > 0) _inner.Download(src, dst);
        else _inner.Synchronize();
    }

    /// <inheritdoc/>
    public void Fill(Tensor t, float value)
    {
        OpContract.Whole(t, nameof(Fill), nameof(t));
        if (t.Length > 0) _inner.Fill(t, value);
    }

    /// <inheritdoc/>
    public void Copy(Tensor dst, Tensor src)
    {
        OpContract.Copy(dst, src);
        if (dst.Length > 0) _inner.Copy(dst, src);
    }

    /// <inheritdoc/>
    public void Synchronize() => _inner.Synchronize();

    /// <inheritdoc/>
    public void KeepWeights(Tensor weights, bool frozen = false)
    {
        OpContract.Whole(weights, nameof(KeepWeights), nameof(weights));
        _inner.KeepWeights(weights, frozen);
    }

    // ---- elementwise ----------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Add(Tensor y, Tensor a, Tensor b)
    {
        OpContract.Add(y, a, b);
        if (y.Length > 0) _inner.Add(y, a, b);
    }

    /// <inheritdoc/>
    public void AddInPlace(Tensor y, Tensor x)
    {
        OpContract.AddInPlace(y, x);
        if (y.Length > 0) _inner.AddInPlace(y, x);
    }

    /// <inheritdoc/>
    public void Scale(Tensor y, float s)
    {
        OpContract.Whole(y, nameof(Scale), nameof(y));
        if (y.Length > 0) _inner.Scale(y, s);
    }

    // ---- matmul: nothing to do when the output is empty (a K of 0 still writes zeros) -----------

    /// <inheritdoc/>
    public void MatMul(Tensor y, Tensor x, Tensor w, GemmShape s, WriteMode mode = WriteMode.Overwrite)
    {
        OpContract.MatMul(y, x, w, s, mode, _limits);
        if ((long)s.M * s.N > 0) _inner.MatMul(y, x, w, s, mode);
    }

    /// <inheritdoc/>
    public void MatMulBackwardInput(Tensor dx, Tensor dy, Tensor w, GemmShape s, WriteMode mode)
    {
        OpContract.MatMulBackwardInput(dx, dy, w, s, mode, _limits);
        if ((long)s.M * s.K > 0) _inner.MatMulBackwardInput(dx, dy, w, s, mode);
    }

    /// <inheritdoc/>
    public void MatMulBackwardWeight(Tensor dw, Tensor dy, Tensor x, GemmShape s, WriteMode mode)
    {
        OpContract.MatMulBackwardWeight(dw, dy, x, s, mode, _limits);
        if ((long)s.N * s.K > 0) _inner.MatMulBackwardWeight(dw, dy, x, s, mode);
    }

    // ---- embedding and RMSNorm ----------------------------------------------------------------

    /// <inheritdoc/>
    public void Embedding(Tensor y, IntTensor ids, Tensor table, RowShape s)
    {
        OpContract.Embedding(y, ids, table, s);
        if ((long)s.Rows * s.Dim > 0) _inner.Embedding(y, ids, table, s);
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, RowShape s)
    {
        OpContract.EmbeddingBackward(dTable, dy, ids, s);
        if ((long)s.Rows * s.Dim > 0) _inner.EmbeddingBackward(dTable, dy, ids, s);
    }

    // rstd has a row even when Dim is 0, so the norms run whenever there are rows.
    /// <inheritdoc/>
    public void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, RowShape s, float eps)
    {
        OpContract.RmsNorm(y, rstd, x, weight, s);
        if (s.Rows > 0) _inner.RmsNorm(y, rstd, x, weight, s, eps);
    }

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape s, WriteMode mode)
    {
        OpContract.RmsNormBackward(dx, dWeight, dy, x, weight, rstd, s, mode);
        if ((long)s.Rows * s.Dim > 0) _inner.RmsNormBackward(dx, dWeight, dy, x, weight, rstd, s, mode);
    }

    /// <inheritdoc/>
    public void AddRmsNorm(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor branch, Tensor weight, RowShape s, float eps)
    {
        OpContract.AddRmsNorm(h, y, rstd, x, branch, weight, s);
        if (s.Rows > 0) _inner.AddRmsNorm(h, y, rstd, x, branch, weight, s, eps);
    }

    // ---- rotary embedding -----------------------------------------------------------------------

    private static long RopeRows(RopeShape s) => (long)s.Batch * s.SeqLen * s.Heads;

    /// <inheritdoc/>
    public void Rope(Tensor x, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default)
    {
        OpContract.Rope(nameof(Rope), x, cos, sin, s, rowStart);
        if (RopeRows(s) > 0) _inner.Rope(x, cos, sin, s, rowStart);
    }

    /// <inheritdoc/>
    public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default)
    {
        OpContract.Rope(nameof(RopeBackward), dx, cos, sin, s, rowStart);
        if (RopeRows(s) > 0) _inner.RopeBackward(dx, cos, sin, s, rowStart);
    }

    /// <inheritdoc/>
    public void RmsNormRope(Tensor y, Tensor rstd, Tensor x, Tensor weight, Tensor cos, Tensor sin, RopeShape s, float eps, IntTensor rowStart = default)
    {
        OpContract.RmsNormRope(y, rstd, x, weight, cos, sin, s, rowStart);
        if (RopeRows(s) > 0) _inner.RmsNormRope(y, rstd, x, weight, cos, sin, s, eps, rowStart);
    }

    /// <inheritdoc/>
    public void RopeRmsNormBackward(NormGradients grads, Tensor dy, NormSaved saved, Tensor cos, Tensor sin, RopeShape s, WriteMode mode,
        IntTensor rowStart = default)
    {
        OpContract.RopeRmsNormBackward(grads.Dx, grads.DWeight, dy, saved.X, saved.Weight, saved.Rstd, cos, sin, s, mode, rowStart);
        if (RopeRows(s) > 0) _inner.RopeRmsNormBackward(grads, dy, saved, cos, sin, s, mode, rowStart);
    }

    // ---- attention ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape s)
    {
        OpContract.Attention(output, lse, q, k, v, s, _limits);
        if (OpContract.AttnSizes(s).Q > 0) _inner.Attention(output, lse, q, k, v, s);
    }

    /// <inheritdoc/>
    public void AttentionBackward(AttentionGradients grads, Tensor dOutput, AttentionSaved saved, AttnShape s, WriteMode mode)
    {
        OpContract.AttentionBackward(grads.Dq, grads.Dk, grads.Dv, dOutput, saved.Q, saved.K, saved.V, saved.Output, saved.Lse, s, mode, _limits);
        if (OpContract.AttnSizes(s).Q > 0) _inner.AttentionBackward(grads, dOutput, saved, s, mode);
    }

    /// <inheritdoc/>
    public void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape s, KvPages pages = default)
    {
        OpContract.AttentionDecode(output, q, kCache, vCache, s, _limits, pages);
        if ((long)s.Batch * s.NewTokens > 0) _inner.AttentionDecode(output, q, kCache, vCache, s, pages);
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape s, KvPages pages = default)
    {
        OpContract.KvCacheAppend(kCache, vCache, k, v, s, _limits, pages);
        if ((long)s.Batch * s.NewTokens > 0) _inner.KvCacheAppend(kCache, vCache, k, v, s, pages);
    }

    // ---- SwiGLU -----------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        OpContract.SwiGlu(h, gate, up);
        if (h.Length > 0) _inner.SwiGlu(h, gate, up);
    }

    /// <inheritdoc/>
    public void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up, WriteMode mode)
    {
        OpContract.SwiGluBackward(dGate, dUp, dh, gate, up, mode);
        if (dh.Length > 0) _inner.SwiGluBackward(dGate, dUp, dh, gate, up, mode);
    }

    // ---- loss and softmax -----------------------------------------------------------------------

    /// <inheritdoc/>
    public void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, RowShape s, int ignoreIndex)
    {
        OpContract.CrossEntropy(losses, logits, targets, s);
        if (s.Rows > 0) _inner.CrossEntropy(losses, logits, targets, s, ignoreIndex);
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex)
    {
        OpContract.CrossEntropyBackward(dLogits, logits, targets, rowScale, s);
        if (s.Rows > 0) _inner.CrossEntropyBackward(dLogits, logits, targets, rowScale, s, ignoreIndex);
    }

    /// <inheritdoc/>
    public void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex)
    {
        OpContract.CrossEntropyForwardBackward(losses, dLogits, logits, targets, rowScale, s);
        if (s.Rows > 0) _inner.CrossEntropyForwardBackward(losses, dLogits, logits, targets, rowScale, s, ignoreIndex);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor y, Tensor x, RowShape s)
    {
        OpContract.Softmax(y, x, s);
        if ((long)s.Rows * s.Dim > 0) _inner.Softmax(y, x, s);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, RowShape s, WriteMode mode)
    {
        OpContract.SoftmaxBackward(dx, dy, y, s, mode);
        if ((long)s.Rows * s.Dim > 0) _inner.SoftmaxBackward(dx, dy, y, s, mode);
    }

    // ---- MoE ------------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void TopK(Tensor weights, IntTensor indices, Tensor probs, TopKShape s, bool normalize)
    {
        OpContract.TopK(weights, indices, probs, s);
        if (s.Rows > 0) _inner.TopK(weights, indices, probs, s, normalize);
    }

    /// <inheritdoc/>
    public void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, TopKShape s, bool normalize, WriteMode mode)
    {
        OpContract.TopKBackward(dProbs, dWeights, probs, indices, s, mode);
        if (s.Rows > 0) _inner.TopKBackward(dProbs, dWeights, probs, indices, s, normalize, mode);
    }

    /// <inheritdoc/>
    public int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, RouteShape s)
    {
        OpContract.MoeRoute(perm, invPerm, indices, s);
        return s.Assignments > 0 ? _inner.MoeRoute(perm, invPerm, indices, s) : new int[s.Experts];
    }

    private static bool MoeWork(MoeShape s) => (long)s.Assignments * s.Dim > 0;

    /// <inheritdoc/>
    public void MoeGather(Tensor xs, Tensor x, IntTensor perm, MoeShape s)
    {
        OpContract.MoeGather(xs, x, perm, s);
        if (MoeWork(s)) _inner.MoeGather(xs, x, perm, s);
    }

    /// <inheritdoc/>
    public void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, MoeShape s, WriteMode mode)
    {
        OpContract.MoeGatherBackward(dx, dxs, invPerm, s, mode);
        if (MoeWork(s)) _inner.MoeGatherBackward(dx, dxs, invPerm, s, mode);
    }

    /// <inheritdoc/>
    public void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, MoeShape s, WriteMode mode)
    {
        OpContract.MoeCombine(y, expertOut, weights, invPerm, s, mode);
        if (MoeWork(s)) _inner.MoeCombine(y, expertOut, weights, invPerm, s, mode);
    }

    /// <inheritdoc/>
    public void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        MoeShape s, WriteMode mode)
    {
        OpContract.MoeCombineBackward(dExpertOut, dWeights, dy, expertOut, weights, invPerm, s, mode);
        if (MoeWork(s)) _inner.MoeCombineBackward(dExpertOut, dWeights, dy, expertOut, weights, invPerm, s, mode);
    }

    /// <inheritdoc/>
    public float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, AuxLossShape s, float alpha, AuxLossKind kind, float gradScale) =>
        OpContract.MoeAuxLoss(dProbs, probs, indices, s, kind) ? _inner.MoeAuxLoss(dProbs, probs, indices, s, alpha, kind, gradScale) : 0f;

    // ---- optimizer ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public double SumOfSquares(Tensor g)
    {
        OpContract.Whole(g, nameof(SumOfSquares), nameof(g));
        return g.Length > 0 ? _inner.SumOfSquares(g) : 0;
    }

    /// <inheritdoc/>
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay,
        long step, float gradScale)
    {
        OpContract.AdamW(param, grad, m, v, step);
        if (param.Length > 0) _inner.AdamW(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale);
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>? _attn;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>? _attnDot;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>? _attnDq;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>? _attnDkv;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeShape>? _decode, _append;

    /// <summary>Queries (and keys) per attention group: the tile's Rows, which is also the group size.</summary>
    private int AttnRows => CudaShapes ? default(AttnTile32).Rows : default(AttnTile4).Rows;

    /// <summary>Grid-stride config for <paramref name="blocks"/> attention blocks of <see cref="AttnRows"/> threads.</summary>
    private KernelConfig AttnConfig(long blocks) =>
        new((int)Math.Max(1, Math.Min(blocks, IsCuda ? _acc.NumMultiprocessors * 32L : _launch.MaxGroups)), AttnRows);

    private static void CheckHeads(string op, int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(seqLen, op, nameof(seqLen));
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(kvHeads), $"{op}: heads ({heads}) must be a positive multiple of kvHeads ({kvHeads})");
        if (headDim <= 0 || headDim > default(AttnTile32).MaxHd)
            throw new ArgumentOutOfRangeException(nameof(headDim), $"{op}: headDim must be in [1, {default(AttnTile32).MaxHd}], got {headDim}");
    }

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        const string op = nameof(Attention);
        CheckHeads(op, batch, seqLen, heads, kvHeads, headDim);
        long nq = (long)batch * seqLen * heads * headDim, nk = (long)batch * seqLen * kvHeads * headDim;
        if (nq == 0) return;
        var s = new AttnShape(batch, seqLen, heads, kvHeads, headDim);
        int rows = AttnRows;
        _attn ??= CudaShapes
            ? _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionForward<AttnTile32>)
            : _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionForward<AttnTile4>);
        _attn(AttnConfig((long)batch * heads * ((seqLen + rows - 1) / rows)), V(output, nq, op, nameof(output)), V(lse, (long)batch * heads * seqLen, op, nameof(lse)),
            V(q, nq, op, nameof(q)), V(k, nk, op, nameof(k)), V(v, nk, op, nameof(v)), s);
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        int batch, int seqLen, int heads, int kvHeads, int headDim)
    {
        const string op = nameof(AttentionBackward);
        CheckHeads(op, batch, seqLen, heads, kvHeads, headDim);
        long nq = (long)batch * seqLen * heads * headDim, nk = (long)batch * seqLen * kvHeads * headDim, nl = (long)batch * heads * seqLen;
        if (nq == 0) return;
        var s = new AttnShape(batch, seqLen, heads, kvHeads, headDim);
        var dO = V(dOutput, nq, op, nameof(dOutput)); var qv = V(q, nq, op, nameof(q));
        var kv = V(k, nk, op, nameof(k)); var vv = V(v, nk, op, nameof(v)); var lv = V(lse, nl, op, nameof(lse));
        var dDot = Scratch(ref _scratchF, nl);
        _attnDot ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionRowDot);
        _attnDq ??= CudaShapes
            ? _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionBackwardQuery<AttnTile32>)
            : _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionBackwardQuery<AttnTile4>);
        _attnDkv ??= CudaShapes
            ? _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionBackwardKeyValue<AttnTile32>)
            : _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttnShape>(IlgpuKernels.AttentionBackwardKeyValue<AttnTile4>);
        int rows = AttnRows;
        _attnDot(_launch.Items(nl), dDot, dO, V(output, nq, op, nameof(output)), s);
        _attnDq(AttnConfig((long)batch * heads * ((seqLen + rows - 1) / rows)), V(dq, nq, op, nameof(dq)), dO, qv, kv, vv, lv, dDot, s);
        _attnDkv(AttnConfig((long)batch * kvHeads * ((seqLen + rows - 1) / rows)), V(dk, nk, op, nameof(dk)), V(dv, nk, op, nameof(dv)), dO, qv, kv, vv, lv, dDot, s);
    }

    private static void CheckDecode(string op, int batch, int newTokens, int pastLen, int capacity)
    {
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(newTokens, op, nameof(newTokens)); OpChecks.NonNegative(pastLen, op, nameof(pastLen));
        if (pastLen + newTokens > capacity)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"{op}: pastLen {pastLen} + newTokens {newTokens} exceeds the cache capacity {capacity}");
    }

    /// <inheritdoc/>
    public void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, int batch, int newTokens, int pastLen, int capacity,
        int heads, int kvHeads, int headDim)
    {
        const string op = nameof(AttentionDecode);
        CheckHeads(op, batch, newTokens, heads, kvHeads, headDim);
        CheckDecode(op, batch, newTokens, pastLen, capacity);
        long nq = (long)batch * newTokens * heads * headDim, nc = (long)batch * capacity * kvHeads * headDim;
        if (nq == 0) return;
        _decode ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeShape>(IlgpuKernels.AttentionDecode);
        _decode(_launch.Items((long)batch * newTokens * heads), V(output, nq, op, nameof(output)), V(q, nq, op, nameof(q)),
            V(kCache, nc, op, nameof(kCache)), V(vCache, nc, op, nameof(vCache)),
            new DecodeShape(batch, newTokens, pastLen, capacity, heads, kvHeads, headDim));
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, int batch, int newTokens, int pastLen, int capacity, int kvHeads, int headDim)
    {
        const string op = nameof(KvCacheAppend);
        CheckDecode(op, batch, newTokens, pastLen, capacity);
        OpChecks.NonNegative(kvHeads, op, nameof(kvHeads)); OpChecks.NonNegative(headDim, op, nameof(headDim));
        long nn = (long)batch * newTokens * kvHeads * headDim, nc = (long)batch * capacity * kvHeads * headDim;
        if (nn == 0) return;
        _append ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DecodeShape>(IlgpuKernels.KvCacheAppend);
        _append(_launch.Items(nn), V(kCache, nc, op, nameof(kCache)), V(vCache, nc, op, nameof(vCache)), V(k, nn, op, nameof(k)), V(v, nn, op, nameof(v)),
            new DecodeShape(batch, newTokens, pastLen, capacity, kvHeads, kvHeads, headDim));
    }
}

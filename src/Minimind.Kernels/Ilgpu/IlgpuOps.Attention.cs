using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

internal sealed partial class IlgpuOps
{
    /// <summary>Queries (and keys) per attention group: the tile's Rows, which is also the group size.</summary>
    private int AttnRows => CudaShapes ? default(AttnTile32).Rows : default(AttnTile4).Rows;

    /// <summary>Grid-stride config for <paramref name="blocks"/> attention blocks of <see cref="AttnRows"/> threads.</summary>
    private KernelConfig AttnConfig(long blocks) =>
        new((int)Math.Max(1, Math.Min(blocks, IsCuda ? _acc.NumMultiprocessors * 32L : _launch.MaxGroups)), AttnRows);

    /// <summary>bf16/fp16 attention runs on tensor cores (the FlashAttention* kernels) where the backend has them.</summary>
    private bool UseFlash(AttnShape shape) => shape.Precision != Precision.Fp32 && TensorCoreAttention;

    /// <summary>Groups of <paramref name="warps"/> warps, each owning 16 rows (queries or keys) of one of <paramref name="heads"/> heads.
    /// CUDA: 2 warps for the query kernels, 1 for the key/value kernel (shared memory ≤ 48 KiB); the simulator: 1.</summary>
    private KernelConfig FlashConfig(AttnShape shape, int heads, int warps)
    {
        long groups = (long)shape.Batch * heads * ((shape.SeqLen + 16 * warps - 1) / (16 * warps));
        return new((int)Math.Max(1, Math.Min(groups, IsCuda ? _acc.NumMultiprocessors * 32L : _launch.MaxGroups)), 32 * warps);
    }

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape shape)
    {
        var (nq, nk, nl) = OpContract.AttnSizes(shape);
        var s = new AttnArgs(shape);
        var (ov, lv, qv, kv, vv) = (V(output, nq), V(lse, nl), V(q, nq), V(k, nk), V(v, nk));
        if (UseFlash(shape))
        {
            if (CudaShapes) Launch(IlgpuKernels.FlashAttentionForward<FlashTile2>, FlashConfig(shape, shape.Heads, 2), ov, lv, qv, kv, vv, s);
            else Launch(IlgpuKernels.FlashAttentionForward<FlashTile1>, FlashConfig(shape, shape.Heads, 1), ov, lv, qv, kv, vv, s);
            return;
        }
        var cfg = AttnConfig((long)shape.Batch * shape.Heads * ((shape.SeqLen + AttnRows - 1) / AttnRows));
        if (CudaShapes) Launch(IlgpuKernels.AttentionForward<AttnTile32>, cfg, ov, lv, qv, kv, vv, s);
        else Launch(IlgpuKernels.AttentionForward<AttnTile4>, cfg, ov, lv, qv, kv, vv, s);
    }

    /// <inheritdoc/>
    public void AttentionBackward(AttentionGradients grads, Tensor dOutput, AttentionSaved saved, AttnShape shape, WriteMode mode)
    {
        var (dq, dk, dv) = grads; var (q, k, v, output, lse) = saved;
        var (nq, nk, nl) = OpContract.AttnSizes(shape);
        var s = new AttnArgs(shape, mode);
        var dO = V(dOutput, nq); var qv = V(q, nq); var kv = V(k, nk); var vv = V(v, nk); var lv = V(lse, nl);
        var dqv = V(dq, nq); var dkv = V(dk, nk); var dvv = V(dv, nk);
        var dDot = Scratch(ref _scratchF, nl);
        int rows = AttnRows, blocks = (shape.SeqLen + rows - 1) / rows;
        var qCfg = AttnConfig((long)shape.Batch * shape.Heads * blocks);
        var kvCfg = AttnConfig((long)shape.Batch * shape.KvHeads * blocks);
        Launch(IlgpuKernels.AttentionRowDot, _launch.Items(nl), dDot, dO, V(output, nq), s);
        if (UseFlash(shape))
        {
            if (CudaShapes) Launch(IlgpuKernels.FlashAttentionBackwardQuery<FlashTile2>, FlashConfig(shape, shape.Heads, 2), dqv, dO, qv, kv, vv, lv, dDot, s);
            else Launch(IlgpuKernels.FlashAttentionBackwardQuery<FlashTile1>, FlashConfig(shape, shape.Heads, 1), dqv, dO, qv, kv, vv, lv, dDot, s);
            Launch(IlgpuKernels.FlashAttentionBackwardKeyValue<FlashTile1>, FlashConfig(shape, shape.KvHeads, 1), dkv, dvv, dO, qv, kv, vv, lv, dDot, s);
        }
        else if (CudaShapes)
        {
            Launch(IlgpuKernels.AttentionBackwardQuery<AttnTile32>, qCfg, dqv, dO, qv, kv, vv, lv, dDot, s);
            Launch(IlgpuKernels.AttentionBackwardKeyValue<AttnTile32>, kvCfg, dkv, dvv, dO, qv, kv, vv, lv, dDot, s);
        }
        else
        {
            Launch(IlgpuKernels.AttentionBackwardQuery<AttnTile4>, qCfg, dqv, dO, qv, kv, vv, lv, dDot, s);
            Launch(IlgpuKernels.AttentionBackwardKeyValue<AttnTile4>, kvCfg, dkv, dvv, dO, qv, kv, vv, lv, dDot, s);
        }
    }

    /// <inheritdoc/>
    public void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape shape, KvPages pages = default)
    {
        long nq = (long)shape.Batch * shape.NewTokens * shape.Heads * shape.HeadDim;
        Launch(IlgpuKernels.AttentionDecode, _launch.Items((long)shape.Batch * shape.NewTokens * shape.Heads), V(output, nq), V(q, nq),
            V(kCache, kCache.Length), V(vCache, vCache.Length), PageTable(shape, pages), IntsOrNone(pages.PastLens, shape.Batch), new DecodeArgs(shape, pages));
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape shape, KvPages pages = default)
    {
        long nn = (long)shape.Batch * shape.NewTokens * shape.KvHeads * shape.HeadDim;
        Launch(IlgpuKernels.KvCacheAppend, _launch.Items(nn), V(kCache, kCache.Length), V(vCache, vCache.Length), V(k, nn), V(v, nn),
            PageTable(shape, pages), IntsOrNone(pages.PastLens, shape.Batch), new DecodeArgs(shape, pages));
    }

    private ArrayView<int> PageTable(DecodeShape s, KvPages pages) => IntsOrNone(pages.Table, (long)s.Batch * pages.PagesPerSeq);
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <summary>Queries (and keys) per attention group: the tile's Rows, which is also the group size.</summary>
    private int AttnRows => CudaShapes ? default(AttnTile32).Rows : default(AttnTile4).Rows;

    /// <summary>Grid-stride config for <paramref name="blocks"/> attention blocks of <see cref="AttnRows"/> threads.</summary>
    private KernelConfig AttnConfig(long blocks) =>
        new((int)Math.Max(1, Math.Min(blocks, IsCuda ? _acc.NumMultiprocessors * 32L : _launch.MaxGroups)), AttnRows);

    /// <inheritdoc/>
    public void Attention(Tensor output, Tensor lse, Tensor q, Tensor k, Tensor v, AttnShape shape)
    {
        OpContract.Attention(output, lse, q, k, v, shape, Limits);
        var (nq, nk, nl) = OpContract.AttnSizes(shape);
        if (nq == 0) return;
        var s = new AttnArgs(shape);
        var (ov, lv, qv, kv, vv) = (V(output, nq), V(lse, nl), V(q, nq), V(k, nk), V(v, nk));
        if (shape.Precision != Precision.Fp32 && TensorCores)
        {
            // Tensor cores: 16 queries per warp, 2 warps per group on CUDA (1 on the simulator, where each costs ~1 ms per shuffle).
            int warps = CudaShapes ? default(FlashTile2).Warps : default(FlashTile1).Warps;
            long groups = (long)shape.Batch * shape.Heads * ((shape.SeqLen + 16 * warps - 1) / (16 * warps));
            var fc = new KernelConfig((int)Math.Max(1, Math.Min(groups, IsCuda ? _acc.NumMultiprocessors * 32L : _launch.MaxGroups)), 32 * warps);
            if (CudaShapes) Launch(IlgpuKernels.FlashAttentionForward<FlashTile2>, fc, ov, lv, qv, kv, vv, s);
            else Launch(IlgpuKernels.FlashAttentionForward<FlashTile1>, fc, ov, lv, qv, kv, vv, s);
            return;
        }
        var cfg = AttnConfig((long)shape.Batch * shape.Heads * ((shape.SeqLen + AttnRows - 1) / AttnRows));
        if (CudaShapes) Launch(IlgpuKernels.AttentionForward<AttnTile32>, cfg, ov, lv, qv, kv, vv, s);
        else Launch(IlgpuKernels.AttentionForward<AttnTile4>, cfg, ov, lv, qv, kv, vv, s);
    }

    /// <inheritdoc/>
    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOutput, Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse,
        AttnShape shape, WriteMode mode)
    {
        OpContract.AttentionBackward(dq, dk, dv, dOutput, q, k, v, output, lse, shape, mode, Limits);
        var (nq, nk, nl) = OpContract.AttnSizes(shape);
        if (nq == 0) return;
        var s = new AttnArgs(shape, mode);
        var dO = V(dOutput, nq); var qv = V(q, nq); var kv = V(k, nk); var vv = V(v, nk); var lv = V(lse, nl);
        var dqv = V(dq, nq); var dkv = V(dk, nk); var dvv = V(dv, nk);
        var dDot = Scratch(ref _scratchF, nl);
        int rows = AttnRows, blocks = (shape.SeqLen + rows - 1) / rows;
        var qCfg = AttnConfig((long)shape.Batch * shape.Heads * blocks);
        var kvCfg = AttnConfig((long)shape.Batch * shape.KvHeads * blocks);
        Launch(IlgpuKernels.AttentionRowDot, _launch.Items(nl), dDot, dO, V(output, nq), s);
        if (CudaShapes)
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
    public void AttentionDecode(Tensor output, Tensor q, Tensor kCache, Tensor vCache, DecodeShape shape)
    {
        OpContract.AttentionDecode(output, q, kCache, vCache, shape, Limits);
        long nq = (long)shape.Batch * shape.NewTokens * shape.Heads * shape.HeadDim, nc = (long)shape.Batch * shape.Capacity * shape.KvHeads * shape.HeadDim;
        if (nq == 0) return;
        Launch(IlgpuKernels.AttentionDecode, _launch.Items((long)shape.Batch * shape.NewTokens * shape.Heads), V(output, nq), V(q, nq),
            V(kCache, nc), V(vCache, nc), new DecodeArgs(shape));
    }

    /// <inheritdoc/>
    public void KvCacheAppend(Tensor kCache, Tensor vCache, Tensor k, Tensor v, DecodeShape shape)
    {
        OpContract.KvCacheAppend(kCache, vCache, k, v, shape, Limits);
        long row = (long)shape.KvHeads * shape.HeadDim, nn = shape.Batch * shape.NewTokens * row, nc = shape.Batch * shape.Capacity * row;
        if (nn == 0) return;
        Launch(IlgpuKernels.KvCacheAppend, _launch.Items(nn), V(kCache, nc), V(vCache, nc), V(k, nn), V(v, nn), new DecodeArgs(shape));
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

internal sealed partial class IlgpuOps
{
    /// <summary>Assignments per chunk of the two-pass counting sort: chunk counts come back to the host,
    /// which scans them into per-(chunk, expert) start offsets.</summary>
    private int RouteChunk => CudaShapes ? 64 : 8;

    /// <inheritdoc/>
    public int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, RouteShape shape)
    {
        const string op = nameof(MoeRoute);
        int assignments = shape.Assignments, experts = shape.Experts;
        var pv = V(perm, assignments); var qv = V(invPerm, assignments); var iv = V(indices, assignments);
        var totals = new int[experts];
        int chunk = RouteChunk, chunks = (assignments + chunk - 1) / chunk, cells = chunks * experts;
        var counts = Scratch(ref _scratchI, cells);
        Launch(IlgpuKernels.MoeCountChunks, _launch.Items(cells), counts, iv, assignments, experts, chunk);
        var host = new int[cells];
        _acc.Synchronize();
        counts.SubView(0, cells).CopyToCPU(host.AsSpan());
        long seen = 0;
        for (int c = 0; c < cells; c++) { totals[c % experts] += host[c]; seen += host[c]; }
        if (seen != assignments)
            throw new ArgumentOutOfRangeException(nameof(indices), $"{op}: {assignments - seen} of {assignments} expert indices are outside [0, {experts})");
        // offsets[ch, e] = start of expert e + the counts of e in earlier chunks (stable in a).
        var offsets = new int[cells];
        int start = 0;
        for (int e = 0; e < experts; e++)
        {
            int pos = start;
            for (int ch = 0; ch < chunks; ch++) { offsets[ch * experts + e] = pos; pos += host[ch * experts + e]; }
            start += totals[e];
        }
        var ov = Scratch(ref _scratchI2, cells);
        ov.SubView(0, cells).CopyFromCPU(offsets.AsSpan());
        Launch(IlgpuKernels.MoeScatterChunks, _launch.Items(cells), pv, qv, iv, ov, assignments, experts, chunk);
        return totals;
    }

    /// <inheritdoc/>
    public void MoeGather(Tensor xs, Tensor x, IntTensor perm, MoeShape s)
    {
        long n = s.Assignments;
        Launch(IlgpuKernels.MoeGather, _launch.Items(n * s.Dim), V(xs, n * s.Dim), V(x, (long)s.Tokens * s.Dim), V(perm, n), s.Tokens, s.K, s.Dim);
    }

    /// <inheritdoc/>
    public void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, MoeShape s, WriteMode mode)
    {
        long n = s.Assignments;
        Launch(IlgpuKernels.MoeGatherBackward, _launch.Items((long)s.Tokens * s.Dim), V(dx, (long)s.Tokens * s.Dim), V(dxs, n * s.Dim),
            V(invPerm, n), s.Tokens, s.K, s.Dim, Acc(mode));
    }

    /// <inheritdoc/>
    public void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, MoeShape s, WriteMode mode)
    {
        long n = s.Assignments;
        Launch(IlgpuKernels.MoeCombine, _launch.Items((long)s.Tokens * s.Dim), V(y, (long)s.Tokens * s.Dim), V(expertOut, n * s.Dim),
            V(weights, n), V(invPerm, n), s.Tokens, s.K, s.Dim, Acc(mode));
    }

    /// <inheritdoc/>
    public void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        MoeShape s, WriteMode mode)
    {
        long n = s.Assignments;
        var dyv = V(dy, (long)s.Tokens * s.Dim); var qv = V(invPerm, n);
        Launch(IlgpuKernels.MoeCombineBackwardOut, _launch.Items(n * s.Dim), V(dExpertOut, n * s.Dim), dyv, V(weights, n), qv, s.Tokens, s.K, s.Dim, Acc(mode));
        Launch(IlgpuKernels.MoeCombineBackwardWeights, _launch.Items(n), V(dWeights, n), dyv, V(expertOut, n * s.Dim), qv, s.Tokens, s.K, s.Dim, Acc(mode));
    }

    /// <inheritdoc/>
    /// <remarks>Computed on the HOST in float64 from downloaded probs/indices (<see cref="MoeAuxLossHost"/>); only the
    /// gradient, a per-(group, expert) constant, is added on the device.</remarks>
    public float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, AuxLossShape shape, float alpha, AuxLossKind kind, float gradScale)
    {
        const string op = nameof(MoeAuxLoss);
        int batch = shape.Batch, seqLen = shape.SeqLen, experts = shape.Experts, k = shape.K, n = batch * seqLen;
        var p = new float[(long)n * experts];
        var idx = new int[(long)n * k];
        Download(probs, p);
        Download(indices, idx);
        int groups = MoeAuxLossHost.Groups(kind, batch), rowsPer = n / groups;
        var grad = new float[groups * experts];
        double loss = MoeAuxLossHost.Compute(op, p, idx, batch, seqLen, experts, k, alpha, kind, gradScale, grad);
        if (!dProbs.IsEmpty)
        {
            var dv = V(dProbs, (long)n * experts);
            var cv = Scratch(ref _scratchF, grad.Length);
            cv.SubView(0, grad.Length).CopyFromCPU(grad.AsSpan());
            Launch(IlgpuKernels.MoeAuxGrad, _launch.Items((long)n * experts), dv, cv, n, experts, rowsPer);
        }
        return (float)loss;
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int>? _moeCount;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>? _moeScatter;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>? _moeGather, _moeGatherBwd;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>? _moeCombine, _moeCombOut, _moeCombW;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _auxGrad;

    /// <summary>Assignments per chunk of the two-pass counting sort: chunk counts come back to the host,
    /// which scans them into per-(chunk, expert) start offsets.</summary>
    private int RouteChunk => CudaShapes ? 64 : 8;

    /// <inheritdoc/>
    public int[] MoeRoute(IntTensor perm, IntTensor invPerm, IntTensor indices, int assignments, int experts)
    {
        const string op = nameof(MoeRoute);
        OpChecks.NonNegative(assignments, op, nameof(assignments));
        if (experts <= 0) throw new ArgumentOutOfRangeException(nameof(experts), $"{op}: experts must be > 0, got {experts}");
        var pv = V(perm, assignments, op, nameof(perm)); var qv = V(invPerm, assignments, op, nameof(invPerm));
        var iv = V(indices, assignments, op, nameof(indices));
        var totals = new int[experts];
        if (assignments == 0) return totals;
        int chunk = RouteChunk, chunks = (assignments + chunk - 1) / chunk, cells = chunks * experts;
        var counts = Scratch(ref _scratchI, cells);
        _moeCount ??= _acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeCountChunks);
        _moeScatter ??= _acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeScatterChunks);
        _moeCount(_launch.Items(cells), counts, iv, assignments, experts, chunk);
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
        _moeScatter(_launch.Items(cells), pv, qv, iv, ov, assignments, experts, chunk);
        return totals;
    }

    /// <inheritdoc/>
    public void MoeGather(Tensor xs, Tensor x, IntTensor perm, int tokens, int k, int dim)
    {
        const string op = nameof(MoeGather);
        int n = OpChecks.MoeAssignments(op, tokens, k, dim);
        if ((long)n * dim == 0) return;
        _moeGather ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeGather);
        _moeGather(_launch.Items((long)n * dim), V(xs, (long)n * dim, op, nameof(xs)), V(x, (long)tokens * dim, op, nameof(x)),
            V(perm, n, op, nameof(perm)), tokens, k, dim);
    }

    /// <inheritdoc/>
    public void MoeGatherBackward(Tensor dx, Tensor dxs, IntTensor invPerm, int tokens, int k, int dim)
    {
        const string op = nameof(MoeGatherBackward);
        int n = OpChecks.MoeAssignments(op, tokens, k, dim);
        if ((long)n * dim == 0) return;
        _moeGatherBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeGatherBackward);
        _moeGatherBwd(_launch.Items((long)tokens * dim), V(dx, (long)tokens * dim, op, nameof(dx)), V(dxs, (long)n * dim, op, nameof(dxs)),
            V(invPerm, n, op, nameof(invPerm)), tokens, k, dim);
    }

    /// <inheritdoc/>
    public void MoeCombine(Tensor y, Tensor expertOut, Tensor weights, IntTensor invPerm, int tokens, int k, int dim)
    {
        const string op = nameof(MoeCombine);
        int n = OpChecks.MoeAssignments(op, tokens, k, dim);
        if ((long)n * dim == 0) return;
        _moeCombine ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeCombine);
        _moeCombine(_launch.Items((long)tokens * dim), V(y, (long)tokens * dim, op, nameof(y)), V(expertOut, (long)n * dim, op, nameof(expertOut)),
            V(weights, n, op, nameof(weights)), V(invPerm, n, op, nameof(invPerm)), tokens, k, dim);
    }

    /// <inheritdoc/>
    public void MoeCombineBackward(Tensor dExpertOut, Tensor dWeights, Tensor dy, Tensor expertOut, Tensor weights, IntTensor invPerm,
        int tokens, int k, int dim)
    {
        const string op = nameof(MoeCombineBackward);
        int n = OpChecks.MoeAssignments(op, tokens, k, dim);
        if ((long)n * dim == 0) return;
        var dyv = V(dy, (long)tokens * dim, op, nameof(dy)); var qv = V(invPerm, n, op, nameof(invPerm));
        _moeCombOut ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeCombineBackwardOut);
        _moeCombW ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IlgpuKernels.MoeCombineBackwardWeights);
        _moeCombOut(_launch.Items((long)n * dim), V(dExpertOut, (long)n * dim, op, nameof(dExpertOut)), dyv, V(weights, n, op, nameof(weights)), qv, tokens, k, dim);
        _moeCombW(_launch.Items(n), V(dWeights, n, op, nameof(dWeights)), dyv, V(expertOut, (long)n * dim, op, nameof(expertOut)), qv, tokens, k, dim);
    }

    /// <inheritdoc/>
    /// <remarks>Computed on the HOST in float64 from downloaded probs/indices (<see cref="MoeAuxLossHost"/>); only the
    /// gradient, a per-(group, expert) constant, is added on the device.</remarks>
    public float MoeAuxLoss(Tensor dProbs, Tensor probs, IntTensor indices, int batch, int seqLen, int experts, int k,
        float alpha, AuxLossKind kind, float gradScale)
    {
        const string op = nameof(MoeAuxLoss);
        if (!MoeAuxLossHost.Check(op, batch, seqLen, experts, k, kind)) return 0f;
        int n = batch * seqLen;
        var p = new float[(long)n * experts];
        var idx = new int[(long)n * k];
        Download(probs, p);
        Download(indices, idx);
        int groups = MoeAuxLossHost.Groups(kind, batch), rowsPer = n / groups;
        var grad = new float[groups * experts];
        double loss = MoeAuxLossHost.Compute(op, p, idx, batch, seqLen, experts, k, alpha, kind, gradScale, grad);
        if (!dProbs.IsEmpty)
        {
            var dv = V(dProbs, (long)n * experts, op, nameof(dProbs));
            var cv = Scratch(ref _scratchF, grad.Length);
            cv.SubView(0, grad.Length).CopyFromCPU(grad.AsSpan());
            _auxGrad ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(IlgpuKernels.MoeAuxGrad);
            _auxGrad(_launch.Items((long)n * experts), dv, cv, n, experts, rowsPer);
        }
        return (float)loss;
    }
}

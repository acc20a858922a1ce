using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>? _emb;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, int>? _embLinks;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>? _embBwd;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>? _rms;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _rmsBwd;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _rmsPart;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _reduceChunks;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, RopeShape>? _rope;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _swiglu;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _swigluBwd;

    /// <inheritdoc/>
    public void Embedding(Tensor y, IntTensor ids, Tensor table, int count, int dim)
    {
        const string op = nameof(Embedding);
        OpChecks.NonNegative(count, op, nameof(count)); OpChecks.NonNegative(dim, op, nameof(dim));
        if ((long)count * dim == 0) return;
        _emb ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(IlgpuKernels.Embedding);
        _emb(_launch.Items((long)count * dim), V(y, (long)count * dim, op, nameof(y)), V(ids, count, op, nameof(ids)), V(table), count, dim);
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, int count, int dim)
    {
        const string op = nameof(EmbeddingBackward);
        OpChecks.NonNegative(count, op, nameof(count)); OpChecks.NonNegative(dim, op, nameof(dim));
        if ((long)count * dim == 0) return;
        var idv = V(ids, count, op, nameof(ids));
        var links = Scratch(ref _scratchI, 2L * count);
        _embLinks ??= _acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, int>(IlgpuKernels.EmbeddingLinks);
        _embBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>(IlgpuKernels.EmbeddingBackward);
        _embLinks(_launch.Items(count), links, idv, count);
        _embBwd(_launch.Items((long)count * dim), V(dTable), V(dy, (long)count * dim, op, nameof(dy)), idv, links, count, dim);
    }

    /// <inheritdoc/>
    public void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, int rows, int dim, float eps)
    {
        const string op = nameof(RmsNorm);
        OpChecks.NonNegative(rows, op, nameof(rows)); OpChecks.NonNegative(dim, op, nameof(dim));
        if (rows == 0) return;
        long n = (long)rows * dim;
        _rms ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(IlgpuKernels.RmsNorm);
        _rms(_launch.Rows(rows), V(y, n, op, nameof(y)), V(rstd, rows, op, nameof(rstd)), V(x, n, op, nameof(x)),
            V(weight, dim, op, nameof(weight)), rows, dim, eps);
    }

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, int rows, int dim)
    {
        const string op = nameof(RmsNormBackward);
        OpChecks.NonNegative(rows, op, nameof(rows)); OpChecks.NonNegative(dim, op, nameof(dim));
        if (rows == 0 || dim == 0) return;
        long n = (long)rows * dim;
        var dyv = V(dy, n, op, nameof(dy)); var xv = V(x, n, op, nameof(x)); var rv = V(rstd, rows, op, nameof(rstd));
        _rmsBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(IlgpuKernels.RmsNormBackwardInput);
        _rmsPart ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(IlgpuKernels.RmsNormWeightPartials);
        _reduceChunks ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(IlgpuKernels.ReduceChunksInto);
        _rmsBwd(_launch.Rows(rows), V(dx, n, op, nameof(dx)), dyv, xv, V(weight, dim, op, nameof(weight)), rv, rows, dim);
        // dWeight: fixed row chunks, then the chunks added in order (deterministic, no atomics).
        int chunks = Math.Min(_launch.ReduceChunks, rows);
        var partial = Scratch(ref _scratchF, (long)chunks * dim);
        _rmsPart(_launch.Items((long)chunks * dim), partial, dyv, xv, rv, rows, dim, chunks);
        _reduceChunks(_launch.Items(dim), V(dWeight, dim, op, nameof(dWeight)), partial, dim, chunks);
    }

    private void RopeCore(string op, Tensor x, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout, int sign)
    {
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(seqLen, op, nameof(seqLen)); OpChecks.NonNegative(heads, op, nameof(heads));
        OpChecks.NonNegative(posOffset, op, nameof(posOffset));
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), $"{op}: headDim must be a positive even number, got {headDim}");
        long n = (long)batch * seqLen * heads * headDim;
        if (n == 0) return;
        long table = (long)(posOffset + seqLen) * (headDim / 2);
        _rope ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, RopeShape>(IlgpuKernels.Rope);
        _rope(_launch.Items(n / 2), V(x, n, op, nameof(x)), V(cos, table, op, nameof(cos)), V(sin, table, op, nameof(sin)),
            new RopeShape(batch, seqLen, heads, headDim, posOffset, layout, sign));
    }

    /// <inheritdoc/>
    public void Rope(Tensor x, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout)
        => RopeCore(nameof(Rope), x, cos, sin, batch, seqLen, heads, headDim, posOffset, layout, +1);

    /// <inheritdoc/>
    public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout)
        => RopeCore(nameof(RopeBackward), dx, cos, sin, batch, seqLen, heads, headDim, posOffset, layout, -1);

    /// <inheritdoc/>
    public void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        long n = h.Length;
        if (n == 0) return;
        _swiglu ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(IlgpuKernels.SwiGlu);
        _swiglu(_launch.Items(n), V(h, n, nameof(SwiGlu), nameof(h)), V(gate, n, nameof(SwiGlu), nameof(gate)), V(up, n, nameof(SwiGlu), nameof(up)));
    }

    /// <inheritdoc/>
    public void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up)
    {
        const string op = nameof(SwiGluBackward);
        long n = dh.Length;
        if (n == 0) return;
        _swigluBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(IlgpuKernels.SwiGluBackward);
        _swigluBwd(_launch.Items(n), V(dGate, n, op, nameof(dGate)), V(dUp, n, op, nameof(dUp)), V(dh, n, op, nameof(dh)),
            V(gate, n, op, nameof(gate)), V(up, n, op, nameof(up)));
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

internal sealed partial class IlgpuOps
{
    private static int Acc(WriteMode mode) => mode == WriteMode.Accumulate ? 1 : 0;

    /// <inheritdoc/>
    public void Embedding(Tensor y, IntTensor ids, Tensor table, RowShape s)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.Embedding, _launch.Items(n), V(y, n), V(ids, s.Rows), V(table), s.Rows, s.Dim);
    }

    /// <inheritdoc/>
    public void EmbeddingBackward(Tensor dTable, Tensor dy, IntTensor ids, RowShape s)
    {
        long n = (long)s.Rows * s.Dim;
        var idv = V(ids, s.Rows);
        var links = Scratch(ref _scratchI, 2L * s.Rows);
        Launch(IlgpuKernels.EmbeddingLinks, _launch.Items(s.Rows), links, idv, s.Rows);
        Launch(IlgpuKernels.EmbeddingBackward, _launch.Items(n), V(dTable), V(dy, n), idv, links, s.Rows, s.Dim);
    }

    /// <inheritdoc/>
    public void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, RowShape s, float eps)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.RmsNorm, _launch.Rows(s.Rows), V(y, n), V(rstd, s.Rows), V(x, n), V(weight, s.Dim), s.Rows, s.Dim, eps);
    }

    /// <inheritdoc/>
    public void AddRmsNorm(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor branch, Tensor weight, RowShape s, float eps)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.AddRmsNorm, _launch.Rows(s.Rows), V(h, n), V(y, n), V(rstd, s.Rows), V(x, n), V(branch, n), V(weight, s.Dim),
            s.Rows, s.Dim, eps);
    }

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape s, WriteMode mode)
    {
        int rows = s.Rows, dim = s.Dim;
        long n = (long)rows * dim;
        var dyv = V(dy, n); var xv = V(x, n); var rv = V(rstd, rows);
        Launch(IlgpuKernels.RmsNormBackwardInput, _launch.Rows(rows), V(dx, n), dyv, xv, V(weight, dim), rv, rows, dim, Acc(mode));
        NormWeightGradient(V(dWeight, dim), dyv, xv, rv, rows, dim);
    }

    // dWeight += Σ_rows dy·x·rstd: fixed row chunks, then the chunks added in order (deterministic, no atomics).
    private void NormWeightGradient(ArrayView<float> dWeight, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> rstd, int rows, int dim)
    {
        int chunks = Math.Min(_launch.ReduceChunks, rows);
        var partial = Scratch(ref _scratchF, (long)chunks * dim);
        Launch(IlgpuKernels.RmsNormWeightPartials, _launch.Items((long)chunks * dim), partial, dy, x, rstd, rows, dim, chunks);
        Launch(IlgpuKernels.ReduceChunksInto, _launch.Items(dim), dWeight, partial, dim, chunks);
    }

    /// <inheritdoc/>
    public void RopeRmsNormBackward(NormGradients grads, Tensor dy, NormSaved saved, Tensor cos, Tensor sin, RopeShape s, WriteMode mode,
        IntTensor rowStart = default)
    {
        var (dx, dWeight) = grads; var (x, weight, rstd) = saved;
        int rows = s.Batch * s.SeqLen * s.Heads, hd = s.HeadDim;
        long n = (long)rows * hd;
        var dyv = V(dy, n); var xv = V(x, n); var rv = V(rstd, rows);
        Launch(IlgpuKernels.RopeRmsNormBackwardInput, _launch.Rows(rows), V(dx, n), dyv, xv, V(weight, hd), rv, V(cos, cos.Length), V(sin, sin.Length),
            IntsOrNone(rowStart, s.Batch), new RopeArgs(s, -1, !rowStart.IsEmpty), Acc(mode));
        NormWeightGradient(V(dWeight, hd), dyv, xv, rv, rows, hd);
    }

    // The whole cos/sin tables are passed: with per-sequence starts the rows read are data (the caller keeps them inside).
    private void RopeCore(string op, Tensor x, Tensor cos, Tensor sin, RopeShape s, int sign, IntTensor rowStart)
    {
        long n = (long)s.Batch * s.SeqLen * s.Heads * s.HeadDim;
        Launch(IlgpuKernels.Rope, _launch.Items(n / 2), V(x, n), V(cos, cos.Length), V(sin, sin.Length), IntsOrNone(rowStart, s.Batch),
            new RopeArgs(s, sign, !rowStart.IsEmpty));
    }

    /// <inheritdoc/>
    public void Rope(Tensor x, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default) =>
        RopeCore(nameof(Rope), x, cos, sin, s, +1, rowStart);

    /// <inheritdoc/>
    public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default) =>
        RopeCore(nameof(RopeBackward), dx, cos, sin, s, -1, rowStart);

    /// <inheritdoc/>
    public void RmsNormRope(Tensor y, Tensor rstd, Tensor x, Tensor weight, Tensor cos, Tensor sin, RopeShape s, float eps, IntTensor rowStart = default)
    {
        int rows = s.Batch * s.SeqLen * s.Heads;
        long n = (long)rows * s.HeadDim;
        Launch(IlgpuKernels.RmsNormRope, _launch.Rows(rows), V(y, n), V(rstd, rows), V(x, n), V(weight, s.HeadDim), V(cos, cos.Length), V(sin, sin.Length),
            IntsOrNone(rowStart, s.Batch), new RopeArgs(s, +1, !rowStart.IsEmpty), eps);
    }

    /// <inheritdoc/>
    public void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        long n = h.Length;
        Launch(IlgpuKernels.SwiGlu, _launch.Items(n), V(h, n), V(gate, n), V(up, n));
    }

    /// <inheritdoc/>
    public void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up, WriteMode mode)
    {
        long n = dh.Length;
        Launch(IlgpuKernels.SwiGluBackward, _launch.Items(n), V(dGate, n), V(dUp, n), V(dh, n), V(gate, n), V(up, n), Acc(mode));
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

internal sealed partial class IlgpuOps
{
    /// <inheritdoc/>
    public void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, RowShape s, int ignoreIndex)
    {
        Launch(IlgpuKernels.CrossEntropy, _launch.Rows(s.Rows), V(losses, s.Rows), V(logits, (long)s.Rows * s.Dim), V(targets, s.Rows),
            s.Rows, s.Dim, ignoreIndex);
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.CrossEntropyBackward, _launch.Rows(s.Rows), V(dLogits, n), V(logits, n), V(targets, s.Rows), V(rowScale, s.Rows),
            s.Rows, s.Dim, ignoreIndex);
    }

    /// <inheritdoc/>
    public void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape s, int ignoreIndex)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.CrossEntropyForwardBackward, _launch.Rows(s.Rows), V(losses, s.Rows), V(dLogits, n), V(logits, n), V(targets, s.Rows),
            V(rowScale, s.Rows), s.Rows, s.Dim, ignoreIndex);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor y, Tensor x, RowShape s)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.Softmax, _launch.Items(s.Rows), V(y, n), V(x, n), s.Rows, s.Dim);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, RowShape s, WriteMode mode)
    {
        long n = (long)s.Rows * s.Dim;
        Launch(IlgpuKernels.SoftmaxBackward, _launch.Items(s.Rows), V(dx, n), V(dy, n), V(y, n), s.Rows, s.Dim, Acc(mode));
    }

    /// <inheritdoc/>
    public void TopK(Tensor weights, IntTensor indices, Tensor probs, TopKShape s, bool normalize)
    {
        Launch(IlgpuKernels.TopK, _launch.Items(s.Rows), V(weights, (long)s.Rows * s.K), V(indices, (long)s.Rows * s.K),
            V(probs, (long)s.Rows * s.Cols), s.Rows, s.Cols, s.K, normalize ? 1 : 0);
    }

    /// <inheritdoc/>
    public void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, TopKShape s, bool normalize, WriteMode mode)
    {
        Launch(IlgpuKernels.TopKBackward, _launch.Items(s.Rows), V(dProbs, (long)s.Rows * s.Cols), V(dWeights, (long)s.Rows * s.K),
            V(probs, (long)s.Rows * s.Cols), V(indices, (long)s.Rows * s.K), s.Rows, s.Cols, s.K, normalize ? 1 : 0, Acc(mode));
    }
}

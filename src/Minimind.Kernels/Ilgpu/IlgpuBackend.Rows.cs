using ILGPU;
using ILGPU.Runtime;

namespace Minimind.Kernels.Ilgpu;

public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>? _ce;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>? _ceBwd;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _softmax;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _softmaxBwd;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>? _topk;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, int>? _topkBwd;

    /// <inheritdoc/>
    public void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, int rows, int vocab, int ignoreIndex)
    {
        const string op = nameof(CrossEntropy);
        OpChecks.NonNegative(rows, op, nameof(rows));
        if (vocab <= 0) throw new ArgumentOutOfRangeException(nameof(vocab), $"{op}: vocab must be > 0, got {vocab}");
        if (rows == 0) return;
        _ce ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(IlgpuKernels.CrossEntropy);
        _ce(_launch.Rows(rows), V(losses, rows, op, nameof(losses)), V(logits, (long)rows * vocab, op, nameof(logits)),
            V(targets, rows, op, nameof(targets)), rows, vocab, ignoreIndex);
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, int rows, int vocab, int ignoreIndex)
    {
        const string op = nameof(CrossEntropyBackward);
        OpChecks.NonNegative(rows, op, nameof(rows));
        if (vocab <= 0) throw new ArgumentOutOfRangeException(nameof(vocab), $"{op}: vocab must be > 0, got {vocab}");
        if (rows == 0) return;
        long n = (long)rows * vocab;
        _ceBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(IlgpuKernels.CrossEntropyBackward);
        _ceBwd(_launch.Rows(rows), V(dLogits, n, op, nameof(dLogits)), V(logits, n, op, nameof(logits)), V(targets, rows, op, nameof(targets)),
            V(rowScale, rows, op, nameof(rowScale)), rows, vocab, ignoreIndex);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor y, Tensor x, int rows, int cols)
    {
        const string op = nameof(Softmax);
        OpChecks.NonNegative(rows, op, nameof(rows)); OpChecks.NonNegative(cols, op, nameof(cols));
        if ((long)rows * cols == 0) return;
        _softmax ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(IlgpuKernels.Softmax);
        _softmax(_launch.Items(rows), V(y, (long)rows * cols, op, nameof(y)), V(x, (long)rows * cols, op, nameof(x)), rows, cols);
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, int rows, int cols)
    {
        const string op = nameof(SoftmaxBackward);
        OpChecks.NonNegative(rows, op, nameof(rows)); OpChecks.NonNegative(cols, op, nameof(cols));
        long n = (long)rows * cols;
        if (n == 0) return;
        _softmaxBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(IlgpuKernels.SoftmaxBackward);
        _softmaxBwd(_launch.Items(rows), V(dx, n, op, nameof(dx)), V(dy, n, op, nameof(dy)), V(y, n, op, nameof(y)), rows, cols);
    }

    private static void CheckTopK(string op, int rows, int cols, int k)
    {
        OpChecks.NonNegative(rows, op, nameof(rows));
        if (k <= 0 || k > cols) throw new ArgumentOutOfRangeException(nameof(k), $"{op}: k must be in [1, cols={cols}], got {k}");
    }

    /// <inheritdoc/>
    public void TopK(Tensor weights, IntTensor indices, Tensor probs, int rows, int cols, int k, bool normalize)
    {
        const string op = nameof(TopK);
        CheckTopK(op, rows, cols, k);
        if (rows == 0) return;
        _topk ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(IlgpuKernels.TopK);
        _topk(_launch.Items(rows), V(weights, (long)rows * k, op, nameof(weights)), V(indices, (long)rows * k, op, nameof(indices)),
            V(probs, (long)rows * cols, op, nameof(probs)), rows, cols, k, normalize ? 1 : 0);
    }

    /// <inheritdoc/>
    public void TopKBackward(Tensor dProbs, Tensor dWeights, Tensor probs, IntTensor indices, int rows, int cols, int k, bool normalize)
    {
        const string op = nameof(TopKBackward);
        CheckTopK(op, rows, cols, k);
        if (rows == 0) return;
        _topkBwd ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int, int>(IlgpuKernels.TopKBackward);
        _topkBwd(_launch.Items(rows), V(dProbs, (long)rows * cols, op, nameof(dProbs)), V(dWeights, (long)rows * k, op, nameof(dWeights)),
            V(probs, (long)rows * cols, op, nameof(probs)), V(indices, (long)rows * k, op, nameof(indices)), rows, cols, k, normalize ? 1 : 0);
    }
}

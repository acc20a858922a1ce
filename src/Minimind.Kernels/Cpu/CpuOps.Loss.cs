using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    private void CheckTargets(string op, int[] ta, int to, int rows, int vocab, int ignoreIndex)
    {
        for (int r = 0; r < rows; r++)
        {
            int t = ta[to + r];
            if (t != ignoreIndex && (t < 0 || t >= vocab))
                throw new ArgumentOutOfRangeException("targets", $"{op}: targets[{r}] = {t} is outside [0, {vocab}) and is not ignoreIndex {ignoreIndex}");
        }
    }

    // max and Σ exp(x − max) of one row; the sum is kept in float64 so long rows lose nothing.
    private static (float Max, double Sum) RowExpSum(ReadOnlySpan<float> row, Span<float> tmp)
    {
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, tmp);
        TensorPrimitives.Exp(tmp, tmp);
        double sum = 0;
        for (int i = 0; i < tmp.Length; i++) sum += tmp[i];
        return (max, sum);
    }

    // logsumexp(row) − row[t] from the row's max and Σexp.
    private static float RowLoss(float max, double sum, float target) => (float)(max + Math.Log(sum) - target);

    // drow = scale·(exp(x − max)/Σ − onehot(t)), from tmp = exp(x − max) (drow may be the logits row itself).
    private static void RowGradient(ReadOnlySpan<float> tmp, double sum, float scale, Span<float> drow, int t)
    {
        float f = (float)(scale / sum);
        TensorPrimitives.Multiply(tmp, f, drow);
        drow[t] -= scale;
    }

    /// <inheritdoc/>
    public void CrossEntropy(Tensor losses, Tensor logits, IntTensor targets, RowShape shape, int ignoreIndex)
    {
        const string op = nameof(CrossEntropy);
        int rows = shape.Rows, vocab = shape.Dim;
        var (la, lo) = Arr(losses); var (xa, xo) = Arr(logits); var (ta, to) = Arr(targets);
        CheckTargets(op, ta, to, rows, vocab, ignoreIndex);
        _work.For(rows, 4, (s, e) =>
        {
            var tmp = new float[vocab];
            for (long r = s; r < e; r++)
            {
                int t = ta[to + r];
                if (t == ignoreIndex) { la[lo + r] = 0f; continue; }
                var row = xa.AsSpan(xo + (int)(r * vocab), vocab);
                var (max, sum) = RowExpSum(row, tmp);
                la[lo + r] = RowLoss(max, sum, row[t]);
            }
        });
    }

    /// <inheritdoc/>
    public void CrossEntropyBackward(Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape shape, int ignoreIndex)
    {
        CrossEntropyGradientRows(nameof(CrossEntropyBackward), null, dLogits, logits, targets, rowScale, shape, ignoreIndex);
    }

    /// <inheritdoc/>
    public void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape shape, int ignoreIndex)
    {
        CrossEntropyGradientRows(nameof(CrossEntropyForwardBackward), losses, dLogits, logits, targets, rowScale, shape, ignoreIndex);
    }

    // dLogits of every row, and its loss too when losses is given: one max and Σexp per row, so the fused op has the
    // bits of CrossEntropy then CrossEntropyBackward.
    private void CrossEntropyGradientRows(string op, Tensor? losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale,
        RowShape shape, int ignoreIndex)
    {
        int rows = shape.Rows, vocab = shape.Dim;
        (float[]? la, int lo) = losses is { } l ? Arr(l) : (null, 0);
        var (da, dof) = Arr(dLogits); var (xa, xo) = Arr(logits); var (ta, to) = Arr(targets); var (sa, so) = Arr(rowScale);
        CheckTargets(op, ta, to, rows, vocab, ignoreIndex);
        _work.For(rows, 4, (s, e) =>
        {
            var tmp = new float[vocab];
            for (long r = s; r < e; r++)
            {
                int t = ta[to + r];
                var drow = da.AsSpan(dof + (int)(r * vocab), vocab);
                if (t == ignoreIndex)
                {
                    if (la is not null) la[lo + r] = 0f;
                    drow.Clear();
                    continue;
                }
                // tmp holds exp(x − max), and the loss reads the target logit, before dLogits (which may alias logits) is written.
                var row = xa.AsSpan(xo + (int)(r * vocab), vocab);
                var (max, sum) = RowExpSum(row, tmp);
                if (la is not null) la[lo + r] = RowLoss(max, sum, row[t]);
                RowGradient(tmp, sum, sa[so + r], drow, t);
            }
        });
    }
}

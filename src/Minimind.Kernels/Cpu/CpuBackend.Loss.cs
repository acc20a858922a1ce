using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
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
        OpContract.CrossEntropy(losses, logits, targets, shape);
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
        const string op = nameof(CrossEntropyBackward);
        OpContract.CrossEntropyBackward(dLogits, logits, targets, rowScale, shape);
        int rows = shape.Rows, vocab = shape.Dim;
        var (da, dof) = Arr(dLogits); var (xa, xo) = Arr(logits); var (ta, to) = Arr(targets); var (sa, so) = Arr(rowScale);
        CheckTargets(op, ta, to, rows, vocab, ignoreIndex);
        _work.For(rows, 4, (s, e) =>
        {
            var tmp = new float[vocab];
            for (long r = s; r < e; r++)
            {
                int t = ta[to + r];
                var drow = da.AsSpan(dof + (int)(r * vocab), vocab);
                if (t == ignoreIndex) { drow.Clear(); continue; }
                // tmp holds exp(x − max) before dLogits (which may alias logits) is written.
                var (_, sum) = RowExpSum(xa.AsSpan(xo + (int)(r * vocab), vocab), tmp);
                RowGradient(tmp, sum, sa[so + r], drow, t);
            }
        });
    }

    /// <inheritdoc/>
    public void CrossEntropyForwardBackward(Tensor losses, Tensor dLogits, Tensor logits, IntTensor targets, Tensor rowScale, RowShape shape, int ignoreIndex)
    {
        const string op = nameof(CrossEntropyForwardBackward);
        OpContract.CrossEntropyForwardBackward(losses, dLogits, logits, targets, rowScale, shape);
        int rows = shape.Rows, vocab = shape.Dim;
        var (la, lo) = Arr(losses); var (da, dof) = Arr(dLogits); var (xa, xo) = Arr(logits); var (ta, to) = Arr(targets); var (sa, so) = Arr(rowScale);
        CheckTargets(op, ta, to, rows, vocab, ignoreIndex);
        _work.For(rows, 4, (s, e) =>
        {
            var tmp = new float[vocab];
            for (long r = s; r < e; r++)
            {
                int t = ta[to + r];
                var drow = da.AsSpan(dof + (int)(r * vocab), vocab);
                if (t == ignoreIndex) { la[lo + r] = 0f; drow.Clear(); continue; }
                var row = xa.AsSpan(xo + (int)(r * vocab), vocab);
                var (max, sum) = RowExpSum(row, tmp);
                la[lo + r] = RowLoss(max, sum, row[t]);   // before drow (which may be row) is written
                RowGradient(tmp, sum, sa[so + r], drow, t);
            }
        });
    }
}

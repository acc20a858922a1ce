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
                la[lo + r] = (float)(max + Math.Log(sum) - row[t]);
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
                float scale = sa[so + r];
                float f = (float)(scale / sum);
                TensorPrimitives.Multiply(tmp, f, drow);
                drow[t] -= scale;
            }
        });
    }
}

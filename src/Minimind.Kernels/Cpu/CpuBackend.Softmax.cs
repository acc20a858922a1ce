using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void Softmax(Tensor y, Tensor x, int rows, int cols)
    {
        OpChecks.NonNegative(rows, nameof(Softmax), nameof(rows)); OpChecks.NonNegative(cols, nameof(Softmax), nameof(cols));
        Need(y, (long)rows * cols, nameof(Softmax), nameof(y)); Need(x, (long)rows * cols, nameof(Softmax), nameof(x));
        if (cols == 0) return;
        var (ya, yo) = Arr(y); var (xa, xo) = Arr(x);
        _work.For(rows, 64, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                var yr = ya.AsSpan(yo + (int)(r * cols), cols);
                float max = TensorPrimitives.Max(xa.AsSpan(xo + (int)(r * cols), cols));
                TensorPrimitives.Subtract(xa.AsSpan(xo + (int)(r * cols), cols), max, yr);
                TensorPrimitives.Exp(yr, yr);
                double sum = 0;
                for (int i = 0; i < cols; i++) sum += yr[i];
                TensorPrimitives.Multiply(yr, (float)(1.0 / sum), yr);
            }
        });
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, int rows, int cols)
    {
        long n = (long)rows * cols;
        OpChecks.NonNegative(rows, nameof(SoftmaxBackward), nameof(rows)); OpChecks.NonNegative(cols, nameof(SoftmaxBackward), nameof(cols));
        Need(dx, n, nameof(SoftmaxBackward), nameof(dx)); Need(dy, n, nameof(SoftmaxBackward), nameof(dy)); Need(y, n, nameof(SoftmaxBackward), nameof(y));
        var (dxa, dxo) = Arr(dx); var (dya, dyo) = Arr(dy); var (ya, yo) = Arr(y);
        _work.For(rows, 64, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int b = (int)(r * cols);
                double dot = 0;
                for (int i = 0; i < cols; i++) dot += (double)dya[dyo + b + i] * ya[yo + b + i];
                float d = (float)dot;
                for (int i = 0; i < cols; i++) dxa[dxo + b + i] += ya[yo + b + i] * (dya[dyo + b + i] - d);
            }
        });
    }
}

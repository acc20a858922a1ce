using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void Softmax(Tensor y, Tensor x, RowShape shape)
    {
        int rows = shape.Rows, cols = shape.Dim;
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
    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y, RowShape shape, WriteMode mode)
    {
        int rows = shape.Rows, cols = shape.Dim;
        bool acc = mode == WriteMode.Accumulate;
        var (dxa, dxo) = Arr(dx); var (dya, dyo) = Arr(dy); var (ya, yo) = Arr(y);
        _work.For(rows, 64, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int b = (int)(r * cols);
                double dot = 0;
                for (int i = 0; i < cols; i++) dot += (double)dya[dyo + b + i] * ya[yo + b + i];
                float d = (float)dot;
                for (int i = 0; i < cols; i++)
                {
                    float g = ya[yo + b + i] * (dya[dyo + b + i] - d);
                    dxa[dxo + b + i] = acc ? dxa[dxo + b + i] + g : g;
                }
            }
        });
    }
}

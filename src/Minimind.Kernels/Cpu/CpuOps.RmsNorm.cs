using System.Numerics.Tensors;

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void RmsNorm(Tensor y, Tensor rstd, Tensor x, Tensor weight, RowShape shape, float eps)
    {
        int rows = shape.Rows, dim = shape.Dim;
        var (ya, yo) = Arr(y); var (ra, ro) = Arr(rstd); var (xa, xo) = In(x); var (wa, wo) = In(weight);
        _work.For(rows, 16, (s, e) =>
        {
            var w = wa.AsSpan(wo, dim);
            for (long r = s; r < e; r++)
                ra[ro + r] = NormRow(Isa, xa.AsSpan(xo + (int)r * dim, dim), w, ya.AsSpan(yo + (int)r * dim, dim), eps);
        });
    }

    // y = x·rstd·w for one row; returns rstd.
    private static float NormRow(CpuIsa isa, ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, float eps)
    {
        float ms = LaneSum.SumOfSquares(isa, x) / x.Length;
        float rs = 1f / MathF.Sqrt(ms + eps);
        // (x·rstd)·weight in this order, as PyTorch's weight * _norm(x).
        TensorPrimitives.Multiply(x, rs, y);
        TensorPrimitives.Multiply(y, w, y);
        return rs;
    }

    /// <inheritdoc/>
    public void AddRmsNorm(Tensor h, Tensor y, Tensor rstd, Tensor x, Tensor branch, Tensor weight, RowShape shape, float eps)
    {
        int rows = shape.Rows, dim = shape.Dim;
        var (ha, ho) = Arr(h); var (ya, yo) = Arr(y); var (ra, ro) = Arr(rstd);
        var (xa, xo) = In(x); var (ba, bo) = In(branch); var (wa, wo) = In(weight);
        _work.For(rows, 16, (s, e) =>
        {
            var w = wa.AsSpan(wo, dim);
            for (long r = s; r < e; r++)
            {
                var hr = ha.AsSpan(ho + (int)r * dim, dim);
                TensorPrimitives.Add(xa.AsSpan(xo + (int)r * dim, dim), ba.AsSpan(bo + (int)r * dim, dim), hr);
                ra[ro + r] = NormRow(Isa, hr, w, ya.AsSpan(yo + (int)r * dim, dim), eps);
            }
        });
    }

    /// <inheritdoc/>
    public void RmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape shape, WriteMode mode)
    {
        NormBackward(dx, dWeight, dy, x, weight, rstd, shape, mode);
    }

    // RmsNormBackward's work (arguments already checked).
    private void NormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, Tensor rstd, RowShape shape, WriteMode mode)
    {
        int rows = shape.Rows, dim = shape.Dim;
        bool overwrite = mode == WriteMode.Overwrite;
        var (dxa, dxo) = Arr(dx); var (dwa, dwo) = Arr(dWeight); var (dya, dyo) = In(dy);
        var (xa, xo) = In(x); var (wa, wo) = In(weight); var (ra, ro) = In(rstd);
        // dx over rows: dx (+)= r·w·dy − x·r³/dim·Σ dy·w·x.
        _work.For(rows, 16, (s, e) =>
        {
            var w = wa.AsSpan(wo, dim);
            var tmp = new float[dim];
            for (long r = s; r < e; r++)
            {
                var xr = xa.AsSpan(xo + (int)r * dim, dim);
                var dyr = dya.AsSpan(dyo + (int)r * dim, dim);
                var dxr = dxa.AsSpan(dxo + (int)r * dim, dim);
                float rs = ra[ro + r];
                TensorPrimitives.Multiply(dyr, w, tmp);                 // g = dy·w
                float dot = LaneSum.Dot(Isa, tmp, xr);
                float c = -dot * rs * rs * rs / dim;
                if (overwrite) TensorPrimitives.Multiply(tmp, rs, dxr);  // dx = r·g
                else TensorPrimitives.MultiplyAdd(tmp, rs, dxr, dxr);   // dx += r·g
                TensorPrimitives.MultiplyAdd(xr, c, dxr, dxr);          // dx += c·x
            }
        });
        // dWeight over columns, rows summed in ascending order.
        _work.For(dim, 64, (c0, c1) =>
        {
            int w = (int)(c1 - c0);
            var acc = new float[w];
            for (int r = 0; r < rows; r++)
            {
                int b = r * dim + (int)c0;
                ElementwiseKernels.AccumulateScaledProduct(Isa, acc, dya.AsSpan(dyo + b, w), xa.AsSpan(xo + b, w), ra[ro + r]);
            }
            var dst = dwa.AsSpan(dwo + (int)c0, w);
            TensorPrimitives.Add(dst, acc, dst);
        });
    }
}

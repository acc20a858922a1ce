namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void Rope(Tensor x, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default)
        => Rotate(nameof(Rope), x, cos, sin, s, 1f, rowStart);

    /// <inheritdoc/>
    public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, RopeShape s, IntTensor rowStart = default)
        => Rotate(nameof(RopeBackward), dx, cos, sin, s, -1f, rowStart);

    // direction = -1 rotates by the inverse angle (sin negated): the transpose of the rotation.
    private void Rotate(string op, Tensor x, Tensor cos, Tensor sin, RopeShape shape, float direction, IntTensor rowStart)
    {
        RotateAll(x, cos, sin, shape, direction, Starts(op, rowStart, shape, cos, sin));
    }

    // Each sequence's first position (PosOffset, plus rowStart[b] when given), checked against the table.
    private static int[] Starts(string op, IntTensor rowStart, RopeShape s, Tensor cos, Tensor sin)
    {
        var starts = new int[s.Batch];
        if (rowStart.IsEmpty) { Array.Fill(starts, s.PosOffset); return starts; }
        var given = Span(rowStart)[..s.Batch];
        OpContract.RowStarts(op, given, s, Math.Min(cos.Length, sin.Length) / (s.HeadDim / 2));
        for (int b = 0; b < s.Batch; b++) starts[b] = s.PosOffset + given[b];
        return starts;
    }

    /// <inheritdoc/>
    public void RopeRmsNormBackward(NormGradients grads, Tensor dy, NormSaved saved, Tensor cos, Tensor sin, RopeShape s, WriteMode mode,
        IntTensor rowStart = default)
    {
        var (dx, dWeight) = grads; var (x, weight, rstd) = saved;
        RotateAll(dy, cos, sin, s, -1f, Starts(nameof(RopeRmsNormBackward), rowStart, s, cos, sin));
        NormBackward(dx, dWeight, dy, x, weight, rstd, new(s.Batch * s.SeqLen * s.Heads, s.HeadDim), mode);
    }

    // Rope's work (arguments already checked); sequence b starts at position starts[b].
    private void RotateAll(Tensor x, Tensor cos, Tensor sin, RopeShape shape, float direction, int[] starts)
    {
        int batch = shape.Batch, seqLen = shape.SeqLen, heads = shape.Heads, headDim = shape.HeadDim;
        var layout = shape.Layout;
        int half = headDim / 2;
        var (xa, xo) = Arr(x); var (ca, co) = In(cos); var (sa, so) = In(sin);
        int rows = batch * seqLen;
        _work.For(rows, 8, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int tab = (starts[r / seqLen] + (int)(r % seqLen)) * half;
                for (int h = 0; h < heads; h++)
                    RopeRows.Rotate(Isa, xa, xo + (int)((r * heads + h) * headDim), ca, co + tab, sa, so + tab, half, layout, direction);
            }
        });
    }

    /// <inheritdoc/>
    public void RmsNormRope(Tensor y, Tensor rstd, Tensor x, Tensor weight, Tensor cos, Tensor sin, RopeShape shape, float eps,
        IntTensor rowStart = default)
    {
        var starts = Starts(nameof(RmsNormRope), rowStart, shape, cos, sin);
        int seqLen = shape.SeqLen, heads = shape.Heads, hd = shape.HeadDim, half = hd / 2;
        var layout = shape.Layout;
        var (ya, yo) = Arr(y); var (ra, ro) = Arr(rstd); var (xa, xo) = In(x); var (wa, wo) = In(weight);
        var (ca, co) = In(cos); var (sa, so) = In(sin);
        _work.For(shape.Batch * seqLen, 8, (s, e) =>
        {
            var w = wa.AsSpan(wo, hd);
            for (long r = s; r < e; r++)
            {
                int tab = (starts[r / seqLen] + (int)(r % seqLen)) * half;
                for (int h = 0; h < heads; h++)
                {
                    long row = r * heads + h;
                    int b = (int)(row * hd);
                    ra[ro + row] = NormRow(Isa, xa.AsSpan(xo + b, hd), w, ya.AsSpan(yo + b, hd), eps);
                    RopeRows.Rotate(Isa, ya, yo + b, ca, co + tab, sa, so + tab, half, layout, 1f);
                }
            }
        });
    }
}

namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void Rope(Tensor x, Tensor cos, Tensor sin, RopeShape s)
        => Rotate(nameof(Rope), x, cos, sin, s, 1f);

    /// <inheritdoc/>
    public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, RopeShape s)
        => Rotate(nameof(RopeBackward), dx, cos, sin, s, -1f);

    // direction = -1 rotates by the inverse angle (sin negated): the transpose of the rotation.
    private void Rotate(string op, Tensor x, Tensor cos, Tensor sin, RopeShape shape, float direction)
    {
        OpContract.Rope(op, x, cos, sin, shape);
        int batch = shape.Batch, seqLen = shape.SeqLen, heads = shape.Heads, headDim = shape.HeadDim, posOffset = shape.PosOffset;
        var layout = shape.Layout;
        int half = headDim / 2;
        var (xa, xo) = Arr(x); var (ca, co) = Arr(cos); var (sa, so) = Arr(sin);
        int rows = batch * seqLen;
        _work.For(rows, 8, (s, e) =>
        {
            for (long r = s; r < e; r++)
            {
                int t = (int)(r % seqLen);
                int tab = (posOffset + t) * half;
                for (int h = 0; h < heads; h++)
                {
                    int b = xo + (int)((r * heads + h) * headDim);
                    for (int i = 0; i < half; i++)
                    {
                        float c = ca[co + tab + i], sn = direction * sa[so + tab + i];
                        int i0, i1;
                        if (layout == RopeLayout.Interleaved) { i0 = b + 2 * i; i1 = i0 + 1; }
                        else { i0 = b + i; i1 = i0 + half; }
                        float x0 = xa[i0], x1 = xa[i1];
                        xa[i0] = x0 * c - x1 * sn;
                        xa[i1] = x1 * c + x0 * sn;
                    }
                }
            }
        });
    }
}

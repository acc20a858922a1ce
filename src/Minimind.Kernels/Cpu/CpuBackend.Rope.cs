namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void Rope(Tensor x, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout)
        => Rotate(nameof(Rope), x, cos, sin, batch, seqLen, heads, headDim, posOffset, layout, 1f);

    /// <inheritdoc/>
    public void RopeBackward(Tensor dx, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset, RopeLayout layout)
        => Rotate(nameof(RopeBackward), dx, cos, sin, batch, seqLen, heads, headDim, posOffset, layout, -1f);

    // direction = -1 rotates by the inverse angle (sin negated): the transpose of the rotation.
    private void Rotate(string op, Tensor x, Tensor cos, Tensor sin, int batch, int seqLen, int heads, int headDim, int posOffset,
        RopeLayout layout, float direction)
    {
        OpChecks.NonNegative(batch, op, nameof(batch)); OpChecks.NonNegative(seqLen, op, nameof(seqLen)); OpChecks.NonNegative(heads, op, nameof(heads));
        OpChecks.NonNegative(posOffset, op, nameof(posOffset));
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), $"{op}: headDim must be even and > 0, got {headDim}");
        int half = headDim / 2;
        Need(x, (long)batch * seqLen * heads * headDim, op, "x");
        Need(cos, (long)(posOffset + seqLen) * half, op, nameof(cos)); Need(sin, (long)(posOffset + seqLen) * half, op, nameof(sin));
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

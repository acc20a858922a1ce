namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        var (ha, ho) = Arr(h); var (ga, go) = Arr(gate); var (ua, uo) = Arr(up);
        _work.For(h.Length, 1 << 14, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                float g = ga[go + i];
                ha[ho + i] = g / (1f + MathF.Exp(-g)) * ua[uo + i];
            }
        });
    }

    /// <inheritdoc/>
    public void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up, WriteMode mode)
    {
        long n = dh.Length;
        bool acc = mode == WriteMode.Accumulate;
        var (dga, dgo) = Arr(dGate); var (dua, duo) = Arr(dUp); var (dha, dho) = Arr(dh);
        var (ga, go) = Arr(gate); var (ua, uo) = Arr(up);
        _work.For(n, 1 << 14, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                float g = ga[go + i], d = dha[dho + i];
                float sig = 1f / (1f + MathF.Exp(-g));
                float silu = g * sig;
                float dg = d * ua[uo + i] * (sig * (1f + g * (1f - sig))), du = d * silu;
                dga[dgo + i] = acc ? dga[dgo + i] + dg : dg;
                dua[duo + i] = acc ? dua[duo + i] + du : du;
            }
        });
    }
}

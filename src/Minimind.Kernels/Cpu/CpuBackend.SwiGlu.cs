namespace Minimind.Kernels.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        Need(gate, h.Length, nameof(SwiGlu), nameof(gate)); Need(up, h.Length, nameof(SwiGlu), nameof(up));
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
    public void SwiGluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up)
    {
        long n = dh.Length;
        Need(dGate, n, nameof(SwiGluBackward), nameof(dGate)); Need(dUp, n, nameof(SwiGluBackward), nameof(dUp));
        Need(gate, n, nameof(SwiGluBackward), nameof(gate)); Need(up, n, nameof(SwiGluBackward), nameof(up));
        var (dga, dgo) = Arr(dGate); var (dua, duo) = Arr(dUp); var (dha, dho) = Arr(dh);
        var (ga, go) = Arr(gate); var (ua, uo) = Arr(up);
        _work.For(n, 1 << 14, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                float g = ga[go + i], d = dha[dho + i];
                float sig = 1f / (1f + MathF.Exp(-g));
                float silu = g * sig;
                dga[dgo + i] += d * ua[uo + i] * (sig * (1f + g * (1f - sig)));
                dua[duo + i] += d * silu;
            }
        });
    }
}

namespace Minimind.Kernels.Cpu;

internal sealed partial class CpuOps
{
    /// <inheritdoc/>
    public void SwiGlu(Tensor h, Tensor gate, Tensor up)
    {
        var (ha, ho) = Arr(h); var (ga, go) = Arr(gate); var (ua, uo) = Arr(up);
        _work.For(h.Length, 1 << 14, (s, e) =>
        {
            int len = (int)(e - s);
            ElementwiseKernels.SwiGlu(Isa, ha.AsSpan(ho + (int)s, len), ga.AsSpan(go + (int)s, len), ua.AsSpan(uo + (int)s, len));
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
            int len = (int)(e - s);
            ElementwiseKernels.SwiGluBackward(Isa, dga.AsSpan(dgo + (int)s, len), dua.AsSpan(duo + (int)s, len), dha.AsSpan(dho + (int)s, len),
                ga.AsSpan(go + (int)s, len), ua.AsSpan(uo + (int)s, len), acc);
        });
    }
}

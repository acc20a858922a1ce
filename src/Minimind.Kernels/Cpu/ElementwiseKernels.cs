using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The element-wise kernels of a training step (AdamW, SwiGLU and its backward, the RMSNorm weight gradient's row
/// accumulation) over 16-lane vectors (<see cref="ILanes16{TSelf}"/>: one zmm, two ymm or four xmm registers), chosen by
/// <see cref="CpuIsa"/>. Each element takes exactly the IEEE operations of the scalar formula, in its order and without
/// fusing a multiply into an add (a tail shorter than 16 runs that scalar formula), so every path gives the same bits.
/// SwiGLU's exp(−gate) is <see cref="Exp8"/> on every path (the double-precision vector exp, rounded once to float);
/// before 2026-12-07 it was libm's scalar expf, which rounds the same but for rare elements, so SwiGLU models trained
/// since then can differ from earlier runs in the last bits.
/// </summary>
internal static unsafe class ElementwiseKernels
{
    // Elements per exp pass of the SwiGLU kernels (a stack buffer).
    private const int ExpBlock = 256;

    /// <summary>
    /// One AdamW step on p, m, v with gradient g (all of length n): g' = g·scale, m = m·β1 + (1−β1)·g',
    /// v = v·β2 + ((1−β2)·g')·g', p = p·decay + (−step·m) / (√v / √(1−β2^t) + eps).
    /// </summary>
    public static void AdamW(CpuIsa isa, Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in AdamScalars s)
    {
        int n = p.Length;
        if (g.Length != n || m.Length != n || v.Length != n) throw new ArgumentException($"AdamW: lengths {n}, {g.Length}, {m.Length}, {v.Length} differ");
        fixed (float* pp = p, pg = g, pm = m, pv = v)
        {
            int done = isa switch
            {
                CpuIsa.Avx512 => AdamW<Lanes16x512>(pp, pg, pm, pv, n, s),
                CpuIsa.Avx2 => AdamW<Lanes16x256>(pp, pg, pm, pv, n, s),
                _ => AdamW<Lanes16x128>(pp, pg, pm, pv, n, s),
            };
            for (int i = done; i < n; i++) pp[i] = s.Update(pp[i], pg[i], ref pm[i], ref pv[i]);
        }
    }

    // The whole 16-lane blocks of AdamW; returns the count done.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int AdamW<TV>(float* p, float* g, float* m, float* v, int n, in AdamScalars s) where TV : struct, ILanes16<TV>
    {
        TV scale = TV.Create(s.GradScale), decay = TV.Create(s.Decay), b1 = TV.Create(s.B1), c1 = TV.Create(s.C1), b2 = TV.Create(s.B2),
            c2 = TV.Create(s.C2), bc2 = TV.Create(s.Bc2Sqrt), eps = TV.Create(s.Eps), negStep = TV.Create(s.NegStep);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var gi = TV.Multiply(TV.Load(g + i), scale);
            var pi = TV.Multiply(TV.Load(p + i), decay);
            var mi = TV.Add(TV.Multiply(TV.Load(m + i), b1), TV.Multiply(c1, gi));
            var vi = TV.Add(TV.Multiply(TV.Load(v + i), b2), TV.Multiply(TV.Multiply(c2, gi), gi));
            TV.Store(mi, m + i); TV.Store(vi, v + i);
            var denom = TV.Add(TV.Divide(TV.Sqrt(vi), bc2), eps);
            TV.Store(TV.Add(pi, TV.Divide(TV.Multiply(negStep, mi), denom)), p + i);
        }
        return i;
    }

    /// <summary>h = gate / (1 + exp(−gate)) · up (SiLU(gate)·up), exp as in <see cref="NegExp"/>.</summary>
    public static void SwiGlu(CpuIsa isa, Span<float> h, ReadOnlySpan<float> gate, ReadOnlySpan<float> up)
    {
        int n = h.Length;
        if (gate.Length != n || up.Length != n) throw new ArgumentException($"SwiGlu: lengths {n}, {gate.Length}, {up.Length} differ");
        float* e = stackalloc float[ExpBlock];
        fixed (float* ph = h, pg = gate, pu = up)
            for (int b = 0; b < n; b += ExpBlock)
            {
                int len = Math.Min(ExpBlock, n - b);
                NegExp(pg + b, e, len);
                int done = isa switch
                {
                    CpuIsa.Avx512 => SwiGlu<Lanes16x512>(ph + b, pg + b, pu + b, e, len),
                    CpuIsa.Avx2 => SwiGlu<Lanes16x256>(ph + b, pg + b, pu + b, e, len),
                    _ => SwiGlu<Lanes16x128>(ph + b, pg + b, pu + b, e, len),
                };
                for (int i = done; i < len; i++) ph[b + i] = pg[b + i] / (1f + e[i]) * pu[b + i];
            }
    }

    // e[i] = exp(−x[i]) on every path: widened to double, Vector256.Exp in double precision (within 1 ulp of double),
    // rounded once to float, so nearly always the correctly rounded float, as libm's expf and torch's exp give (the
    // float Vector256.Exp is up to 2 ulps off, which moved bf16-rounded SwiGLU outputs away from torch's). 8 lanes, and a
    // ragged tail through one padded vector, so each element's exp is the same code wherever it sits. libm's scalar
    // expf, called per element, took 2-4 % of a v1 step.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NegExp(float* x, float* e, int len)
    {
        int i = 0;
        for (; i + 8 <= len; i += 8) Exp8(-Vector256.Load(x + i)).Store(e + i);
        if (i == len) return;
        float* t = stackalloc float[8];
        for (int j = 0; j < 8; j++) t[j] = i + j < len ? x[i + j] : 0f;
        Exp8(-Vector256.Load(t)).Store(t);
        for (int j = 0; i + j < len; j++) e[i + j] = t[j];
    }

    /// <summary>exp of 8 floats through double precision, each rounded once to float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp8(Vector256<float> x)
    {
        var (lo, hi) = Vector256.Widen(x);
        return Vector256.Narrow(Vector256.Exp(lo), Vector256.Exp(hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SwiGlu<TV>(float* h, float* g, float* u, float* e, int n) where TV : struct, ILanes16<TV>
    {
        var one = TV.Create(1f);
        int i = 0;
        for (; i + 16 <= n; i += 16)
            TV.Store(TV.Multiply(TV.Divide(TV.Load(g + i), TV.Add(one, TV.Load(e + i))), TV.Load(u + i)), h + i);
        return i;
    }

    /// <summary>
    /// SwiGLU's backward: with σ = 1 / (1 + exp(−gate)), dGate (+)= (dh·up)·(σ·(1 + gate·(1 − σ))) and
    /// dUp (+)= dh·(gate·σ); <paramref name="accumulate"/> adds to the outputs instead of overwriting them.
    /// </summary>
    public static void SwiGluBackward(CpuIsa isa, Span<float> dGate, Span<float> dUp, ReadOnlySpan<float> dh, ReadOnlySpan<float> gate,
        ReadOnlySpan<float> up, bool accumulate)
    {
        int n = dh.Length;
        if (dGate.Length != n || dUp.Length != n || gate.Length != n || up.Length != n)
            throw new ArgumentException($"SwiGluBackward: lengths {dGate.Length}, {dUp.Length}, {n}, {gate.Length}, {up.Length} differ");
        float* e = stackalloc float[ExpBlock];
        fixed (float* pdg = dGate, pdu = dUp, pdh = dh, pg = gate, pu = up)
            for (int b = 0; b < n; b += ExpBlock)
            {
                int len = Math.Min(ExpBlock, n - b);
                NegExp(pg + b, e, len);
                float* dg = pdg + b, du = pdu + b, d = pdh + b, g = pg + b, u = pu + b;
                int done = isa switch
                {
                    CpuIsa.Avx512 => SwiGluBackward<Lanes16x512>(dg, du, d, g, u, e, len, accumulate),
                    CpuIsa.Avx2 => SwiGluBackward<Lanes16x256>(dg, du, d, g, u, e, len, accumulate),
                    _ => SwiGluBackward<Lanes16x128>(dg, du, d, g, u, e, len, accumulate),
                };
                for (int i = done; i < len; i++)
                {
                    float gi = g[i], di = d[i];
                    float sig = 1f / (1f + e[i]);
                    float silu = gi * sig;
                    float dgi = di * u[i] * (sig * (1f + gi * (1f - sig))), dui = di * silu;
                    dg[i] = accumulate ? dg[i] + dgi : dgi;
                    du[i] = accumulate ? du[i] + dui : dui;
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SwiGluBackward<TV>(float* dg, float* du, float* d, float* g, float* u, float* e, int n, bool accumulate)
        where TV : struct, ILanes16<TV>
    {
        var one = TV.Create(1f);
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            TV gi = TV.Load(g + i), di = TV.Load(d + i);
            var sig = TV.Divide(one, TV.Add(one, TV.Load(e + i)));
            var silu = TV.Multiply(gi, sig);
            var dgi = TV.Multiply(TV.Multiply(di, TV.Load(u + i)), TV.Multiply(sig, TV.Add(one, TV.Multiply(gi, TV.Subtract(one, sig)))));
            var dui = TV.Multiply(di, silu);
            if (accumulate) { dgi = TV.Add(TV.Load(dg + i), dgi); dui = TV.Add(TV.Load(du + i), dui); }
            TV.Store(dgi, dg + i); TV.Store(dui, du + i);
        }
        return i;
    }

    /// <summary>acc[i] += (dy[i]·x[i])·rstd: one row's term of the RMSNorm weight gradient.</summary>
    public static void AccumulateScaledProduct(CpuIsa isa, Span<float> acc, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float rstd)
    {
        int n = acc.Length;
        if (dy.Length != n || x.Length != n) throw new ArgumentException($"AccumulateScaledProduct: lengths {n}, {dy.Length}, {x.Length} differ");
        fixed (float* pa = acc, pd = dy, px = x)
        {
            int done = isa switch
            {
                CpuIsa.Avx512 => AccumulateScaledProduct<Lanes16x512>(pa, pd, px, n, rstd),
                CpuIsa.Avx2 => AccumulateScaledProduct<Lanes16x256>(pa, pd, px, n, rstd),
                _ => AccumulateScaledProduct<Lanes16x128>(pa, pd, px, n, rstd),
            };
            for (int i = done; i < n; i++) pa[i] += pd[i] * px[i] * rstd;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int AccumulateScaledProduct<TV>(float* acc, float* dy, float* x, int n, float rstd) where TV : struct, ILanes16<TV>
    {
        var r = TV.Create(rstd);
        int i = 0;
        for (; i + 16 <= n; i += 16)
            TV.Store(TV.Add(TV.Load(acc + i), TV.Multiply(TV.Multiply(TV.Load(dy + i), TV.Load(x + i)), r)), acc + i);
        return i;
    }
}

using System.Runtime.CompilerServices;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The rotary embedding of one head row: pairs (x0, x1) → (x0·c − x1·s, x1·c + x0·s), with s = direction·sin
/// (direction −1 is the inverse rotation, the backward). 16 lanes at a time (<see cref="ILanes16{TSelf}"/>) on every
/// path; x1·(−s) added is the same IEEE result as x1·s subtracted, so each element has the scalar formula's bits.
/// </summary>
internal static unsafe class RopeRows
{
    /// <summary>Rotates the head row at x[b..b+2·half) by the angles cos[c..c+half), sin[s..s+half) in <paramref name="layout"/>.</summary>
    public static void Rotate(CpuIsa isa, float[] x, int b, float[] cos, int c, float[] sin, int s, int half, RopeLayout layout, float direction)
    {
        if (b < 0 || b + 2 * half > x.Length || c < 0 || c + half > cos.Length || s < 0 || s + half > sin.Length)
            throw new ArgumentOutOfRangeException(nameof(x), $"RopeRows.Rotate: row {b}+{2 * half} or table {c}/{s}+{half} outside the buffers");
        fixed (float* px = x, pc = cos, ps = sin)
        {
            float* xr = px + b, cr = pc + c, sr = ps + s;
            bool inter = layout == RopeLayout.Interleaved;
            int done = isa switch
            {
                CpuIsa.Avx512 => inter ? Interleaved<Lanes16x512>(xr, cr, sr, half, direction) : Halves<Lanes16x512>(xr, cr, sr, half, direction),
                CpuIsa.Avx2 => inter ? Interleaved<Lanes16x256>(xr, cr, sr, half, direction) : Halves<Lanes16x256>(xr, cr, sr, half, direction),
                _ => inter ? Interleaved<Lanes16x128>(xr, cr, sr, half, direction) : Halves<Lanes16x128>(xr, cr, sr, half, direction),
            };
            for (int i = done; i < half; i++)
            {
                float ci = cr[i], sn = direction * sr[i];
                float* p0 = inter ? xr + 2 * i : xr + i, p1 = inter ? p0 + 1 : p0 + half;
                float x0 = *p0, x1 = *p1;
                *p0 = x0 * ci - x1 * sn;
                *p1 = x1 * ci + x0 * sn;
            }
        }
    }

    // Pairs (x[2i], x[2i+1]), 8 per step; returns the pairs done.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Interleaved<TV>(float* x, float* cos, float* sin, int half, float direction) where TV : struct, ILanes16<TV>
    {
        var dir = TV.Create(direction);
        int i = 0;
        for (; i + 8 <= half; i += 8)
        {
            var v = TV.Load(x + 2 * i);
            var sn = TV.NegateEven(TV.Multiply(dir, TV.LoadDuplicated(sin + i)));
            TV.Store(TV.Add(TV.Multiply(v, TV.LoadDuplicated(cos + i)), TV.Multiply(TV.SwapPairs(v), sn)), x + 2 * i);
        }
        return i;
    }

    // Pairs (x[i], x[i+half]), 16 per step; returns the pairs done.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Halves<TV>(float* x, float* cos, float* sin, int half, float direction) where TV : struct, ILanes16<TV>
    {
        var dir = TV.Create(direction);
        int i = 0;
        for (; i + 16 <= half; i += 16)
        {
            TV x0 = TV.Load(x + i), x1 = TV.Load(x + i + half), c = TV.Load(cos + i), sn = TV.Multiply(dir, TV.Load(sin + i));
            TV.Store(TV.Subtract(TV.Multiply(x0, c), TV.Multiply(x1, sn)), x + i);
            TV.Store(TV.Add(TV.Multiply(x1, c), TV.Multiply(x0, sn)), x + i + half);
        }
        return i;
    }
}

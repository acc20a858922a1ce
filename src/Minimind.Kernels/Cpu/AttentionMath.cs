using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The two inner loops of CPU attention over a block of rows: many dot products against one vector, and a
/// weighted sum of rows into an accumulator kept in registers. Vectorised for head sizes that are multiples
/// of 8 (scalar otherwise). Each result element is summed in a fixed order, independent of threading.
/// </summary>
internal static unsafe class AttentionMath
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fmadd(Vector256<float> a, Vector256<float> b, Vector256<float> c)
        => Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>s[j] = scale·(x · rows[j]) for j &lt; n, where row j starts at rows + j·stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dots(float* x, float* rows, int stride, int n, int hd, float scale, float* s)
    {
        int j = 0;
        if (hd % 8 == 0)
        {
            // Four rows at a time: four independent FMA chains hide the FMA latency.
            for (; j + 4 <= n; j += 4)
            {
                float* r0 = rows + (long)j * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int d = 0; d < hd; d += 8)
                {
                    var xv = Vector256.Load(x + d);
                    a0 = Fmadd(xv, Vector256.Load(r0 + d), a0);
                    a1 = Fmadd(xv, Vector256.Load(r1 + d), a1);
                    a2 = Fmadd(xv, Vector256.Load(r2 + d), a2);
                    a3 = Fmadd(xv, Vector256.Load(r3 + d), a3);
                }
                s[j] = Vector256.Sum(a0) * scale; s[j + 1] = Vector256.Sum(a1) * scale;
                s[j + 2] = Vector256.Sum(a2) * scale; s[j + 3] = Vector256.Sum(a3) * scale;
            }
            for (; j < n; j++)
            {
                float* r = rows + (long)j * stride;
                Vector256<float> a = default;
                for (int d = 0; d < hd; d += 8) a = Fmadd(Vector256.Load(x + d), Vector256.Load(r + d), a);
                s[j] = Vector256.Sum(a) * scale;
            }
            return;
        }
        for (; j < n; j++)
        {
            float* r = rows + (long)j * stride;
            float a = 0f;
            for (int d = 0; d < hd; d++) a += x[d] * r[d];
            s[j] = a * scale;
        }
    }

    /// <summary>acc[d] += Σ_j w[j]·rows[j][d] for j &lt; n in ascending j; row j starts at rows + j·stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddWeightedRows(float* acc, float* rows, int stride, int n, float* w, int hd)
    {
        if (hd % 8 != 0)
        {
            for (int j = 0; j < n; j++)
            {
                float* r = rows + (long)j * stride;
                float wj = w[j];
                for (int d = 0; d < hd; d++) acc[d] += wj * r[d];
            }
            return;
        }
        int d0 = 0;
        // 32 accumulator lanes stay in four registers while all n rows stream past.
        for (; d0 + 32 <= hd; d0 += 32)
        {
            var c0 = Vector256.Load(acc + d0); var c1 = Vector256.Load(acc + d0 + 8);
            var c2 = Vector256.Load(acc + d0 + 16); var c3 = Vector256.Load(acc + d0 + 24);
            float* r = rows + d0;
            for (int j = 0; j < n; j++, r += stride)
            {
                var wv = Vector256.Create(w[j]);
                c0 = Fmadd(wv, Vector256.Load(r), c0); c1 = Fmadd(wv, Vector256.Load(r + 8), c1);
                c2 = Fmadd(wv, Vector256.Load(r + 16), c2); c3 = Fmadd(wv, Vector256.Load(r + 24), c3);
            }
            Vector256.Store(c0, acc + d0); Vector256.Store(c1, acc + d0 + 8);
            Vector256.Store(c2, acc + d0 + 16); Vector256.Store(c3, acc + d0 + 24);
        }
        for (; d0 < hd; d0 += 8)
        {
            var c0 = Vector256.Load(acc + d0);
            float* r = rows + d0;
            for (int j = 0; j < n; j++, r += stride) c0 = Fmadd(Vector256.Create(w[j]), Vector256.Load(r), c0);
            Vector256.Store(c0, acc + d0);
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// Dot products and sums of squares of float rows in one fixed lane structure, on every CPU path: the structure of
/// <see cref="System.Numerics.Tensors.TensorPrimitives.Dot{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/> on AVX-512 hardware
/// (16 lanes, products rounded then added, the first and last 16 loaded up front, 8 blocks per step past 128
/// elements, a ragged tail aligned to the end), which is what the rows of this backend computed on this project's
/// AVX-512 machines, so trained weights keep their bits. TensorPrimitives itself sums in 8 lanes on AVX2 and in 16 on
/// AVX-512; this class does the same in both, two 256-bit halves on AVX2 (<see cref="ILanes16{TSelf}"/>).
/// </summary>
internal static unsafe class LaneSum
{
    /// <summary>Σ x[i]·y[i] over the spans' common length n (x.Length must equal y.Length).</summary>
    public static float Dot(CpuIsa isa, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"LaneSum.Dot: lengths {x.Length} and {y.Length} differ");
        fixed (float* px = x, py = y) return Dot(isa, px, py, x.Length);
    }

    /// <summary>Σ x[i]² (the same structure as <see cref="Dot(CpuIsa, ReadOnlySpan{float}, ReadOnlySpan{float})"/> of x with itself).</summary>
    public static float SumOfSquares(CpuIsa isa, ReadOnlySpan<float> x) => Dot(isa, x, x);

    /// <summary>Σ x[i]·y[i], i &lt; n.</summary>
    public static float Dot(CpuIsa isa, float* x, float* y, int n) => n < 16 ? Small(x, y, n) : isa switch
    {
        CpuIsa.Avx512 => Blocks<Lanes16x512>(x, y, n),
        CpuIsa.Avx2 => Blocks<Lanes16x256>(x, y, n),
        _ => Blocks<Lanes16x128>(x, y, n),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Blocks<TV>(float* x, float* y, int n) where TV : struct, ILanes16<TV>
    {
        var acc = TV.Zero;
        var beg = TV.Multiply(TV.Load(x), TV.Load(y));
        var end = TV.Multiply(TV.Load(x + n - 16), TV.Load(y + n - 16));
        int pos = 0, rem = n, blocks;
        if (n > 128)
        {
            // Past 8 blocks: elements 16.. in steps of 8 blocks, each block added in turn; the first block comes after.
            pos = 16; rem = n - 16;
            for (; rem >= 128; pos += 128, rem -= 128)
                for (int v = 0; v < 128; v += 16) acc = TV.Add(acc, TV.Multiply(TV.Load(x + pos + v), TV.Load(y + pos + v)));
            acc = TV.Add(acc, beg);
            blocks = rem / 16;
        }
        else
        {
            acc = TV.Add(acc, beg);
            blocks = rem / 16 - 1;
        }
        int trailing = rem % 16, last = pos + rem - trailing;
        for (int b = blocks; b >= 1; b--) acc = TV.Add(acc, TV.Multiply(TV.Load(x + last - 16 * b), TV.Load(y + last - 16 * b)));
        // The ragged tail: the last 16 elements' final `trailing` lanes.
        acc = TV.Add(acc, TV.KeepLast(end, trailing));
        return TV.Sum(acc);
    }

    // Fewer than 16: 8- and 4-lane vectors (the same on every path), scalar below 4, as TensorPrimitives does.
    private static float Small(float* x, float* y, int n)
    {
        switch (n)
        {
            case >= 8:
            {
                var beg = Vector256.Load(x) * Vector256.Load(y);
                if (n == 8) return Vector256.Sum(beg);
                var end = Vector256.Load(x + n - 8) * Vector256.Load(y + n - 8);
                var keep = Vector256.GreaterThanOrEqual(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(16 - n)).AsSingle();
                return Vector256.Sum(beg + Vector256.ConditionalSelect(keep, end, Vector256<float>.Zero));
            }
            case >= 4:
            {
                var beg = Vector128.Load(x) * Vector128.Load(y);
                if (n == 4) return Vector128.Sum(beg);
                var end = Vector128.Load(x + n - 4) * Vector128.Load(y + n - 4);
                var keep = Vector128.GreaterThanOrEqual(Vector128.Create(0, 1, 2, 3), Vector128.Create(8 - n)).AsSingle();
                return Vector128.Sum(beg + Vector128.ConditionalSelect(keep, end, Vector128<float>.Zero));
            }
            default:
            {
                float r = 0f;
                for (int i = n - 1; i >= 0; i--) r += x[i] * y[i];
                return r;
            }
        }
    }
}

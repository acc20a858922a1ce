namespace Minimind.Kernels.Tests.Reference;

/// <summary>Helpers for kernel tests: seeded random data, float/double conversion, error norms, NaN poisoning.</summary>
public static class TestData
{
    /// <summary>n uniform values in [lo, hi) from a seeded generator.</summary>
    public static double[] Uniform(int seed, int n, double lo = -1, double hi = 1)
    {
        var rng = new Random(seed);
        var a = new double[n];
        // Round through float so the float and double copies of the input are the same numbers.
        for (int i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return a;
    }

    /// <summary>n integers in [lo, hi) from a seeded generator.</summary>
    public static int[] Ints(int seed, int n, int lo, int hi)
    {
        var rng = new Random(seed);
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = rng.Next(lo, hi);
        return a;
    }

    /// <summary>Float copy of a double array.</summary>
    public static float[] ToFloat(ReadOnlySpan<double> x)
    {
        var a = new float[x.Length];
        for (int i = 0; i < a.Length; i++) a[i] = (float)x[i];
        return a;
    }

    /// <summary>Double copy of a float array.</summary>
    public static double[] ToDouble(ReadOnlySpan<float> x)
    {
        var a = new double[x.Length];
        for (int i = 0; i < a.Length; i++) a[i] = x[i];
        return a;
    }

    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ (absolute norm when expected is all zero); NaN anywhere gives +∞.</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"lengths differ: {actual.Length} vs {expected.Length}");
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!double.IsFinite(actual[i]) || !double.IsFinite(expected[i])) return double.PositiveInfinity;
            double d = actual[i] - expected[i];
            num += d * d; den += expected[i] * expected[i];
        }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>‖a − b‖₂ / ‖b‖₂ between two double arrays (absolute when b is zero).</summary>
    public static double RelativeError(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"lengths differ: {a.Length} vs {b.Length}");
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (!double.IsFinite(a[i]) || !double.IsFinite(b[i])) return double.PositiveInfinity;
            num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i];
        }
        return den == 0 ? Math.Sqrt(num) : Math.Sqrt(num / den);
    }

    /// <summary>Fills with NaN so an element an op forgets to write fails the comparison.</summary>
    public static void Poison(Span<float> x) => x.Fill(float.NaN);

    /// <summary>Central finite difference of a scalar function f(x) for every element of x (in float64).</summary>
    public static double[] NumericGradient(double[] x, Func<double> f, double h = 1e-6)
    {
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double old = x[i];
            x[i] = old + h; double fp = f();
            x[i] = old - h; double fm = f();
            x[i] = old;
            g[i] = (fp - fm) / (2 * h);
        }
        return g;
    }

    /// <summary>Σ w·y: a random linear functional turns a vector output into a scalar loss for gradient checks.</summary>
    public static double Dot(ReadOnlySpan<double> w, ReadOnlySpan<double> y)
    {
        double s = 0;
        for (int i = 0; i < w.Length; i++) s += w[i] * y[i];
        return s;
    }
}

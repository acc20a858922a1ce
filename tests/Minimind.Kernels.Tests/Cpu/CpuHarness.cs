using Minimind.Kernels.Cpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>Uploads test data into a <see cref="CpuBackend"/> as views at a non-zero offset inside a larger
/// buffer (so offset handling is exercised by every test) and compares results with the float64 reference.</summary>
internal sealed class CpuHarness : IDisposable
{
    public const double Tol = 1e-5;
    public readonly CpuBackend B;

    public CpuHarness(int threads = 0, CpuIsa? isa = null) => B = isa is { } i ? CpuTestPaths.Backend(threads, i) : new CpuBackend(threads);

    public Tensor Up(double[] x)
    {
        var buf = B.Alloc(x.Length + 7);
        CpuBackend.Span(buf).Fill(123f);
        var t = buf.Slice(3, x.Length);
        B.Upload(t, TestData.ToFloat(x));
        return t;
    }

    public IntTensor Up(int[] x)
    {
        var t = B.AllocInt(x.Length + 5).Slice(2, x.Length);
        B.Upload(t, x);
        return t;
    }

    /// <summary>An output view filled with NaN: an element the op does not write fails the comparison.</summary>
    public Tensor Poisoned(int n)
    {
        var t = B.Alloc(n + 5).Slice(1, n);
        TestData.Poison(CpuBackend.Span(t));
        return t;
    }

    public IntTensor PoisonedInt(int n)
    {
        var t = B.AllocInt(n + 5).Slice(1, n);
        CpuBackend.Span(t).Fill(int.MinValue);
        return t;
    }

    public static float[] Get(Tensor t) => CpuBackend.Span(t).ToArray();
    public static int[] Get(IntTensor t) => CpuBackend.Span(t).ToArray();

    public static void Close(Tensor actual, double[] expected, string what, double tol = Tol)
    {
        double e = TestData.RelativeError(CpuBackend.Span(actual), expected);
        Assert.True(e < tol, $"{what}: relative error {e:E3} is not below {tol:E1}");
    }

    public void Dispose() => B.Dispose();
}

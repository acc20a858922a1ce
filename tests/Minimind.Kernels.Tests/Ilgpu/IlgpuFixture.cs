using Minimind.Kernels.Ilgpu;
using Minimind.Kernels.Tests.Reference;

namespace Minimind.Kernels.Tests.Ilgpu;

/// <summary>One ILGPU CPU-simulator backend (and one with the tiled GEMM) for all ILGPU test classes:
/// creating ILGPU contexts is slow, so the collection shares them and its tests run one after another.</summary>
public sealed class IlgpuFixture : IDisposable
{
    /// <summary>Default paths (one-thread-per-element GEMM), 4 threads per group.</summary>
    public readonly IlgpuBackend B = IlgpuBackend.CreateCpuSimulator();
    /// <summary>Same device, shared-memory tiled GEMM with an 8×8 tile.</summary>
    public readonly IlgpuBackend Tiled = IlgpuBackend.CreateCpuSimulator(tiledMatMul: true);

    public void Dispose() { B.Dispose(); Tiled.Dispose(); }
}

[CollectionDefinition(Name)]
public sealed class IlgpuCollection : ICollectionFixture<IlgpuFixture>
{
    public const string Name = "ILGPU CPU simulator";
}

/// <summary>Uploads test data into an ILGPU backend as views at non-zero offsets inside larger buffers (so offset
/// handling is exercised everywhere), poisons outputs with NaN, and compares results with the float64 reference.</summary>
internal static class IlgpuHarness
{
    public const double Tol = 1e-4;

    public static Tensor Up(this IBackend b, double[] x)
    {
        var buf = b.Alloc(x.Length + 7);
        var fill = new float[x.Length + 7];
        Array.Fill(fill, 123f);
        b.Upload(buf, fill);
        var t = buf.Slice(3, x.Length);
        b.Upload(t, TestData.ToFloat(x));
        return t;
    }

    public static IntTensor Up(this IBackend b, int[] x)
    {
        var t = b.AllocInt(x.Length + 5).Slice(2, x.Length);
        b.Upload(t, x);
        return t;
    }

    /// <summary>An output view filled with NaN: an element the op does not write fails the comparison.</summary>
    public static Tensor Poisoned(this IBackend b, int n)
    {
        var t = b.Alloc(n + 5).Slice(1, n);
        var nan = new float[n];
        TestData.Poison(nan);
        b.Upload(t, nan);
        return t;
    }

    public static IntTensor PoisonedInt(this IBackend b, int n)
    {
        var t = b.AllocInt(n + 5).Slice(1, n);
        var fill = new int[n];
        Array.Fill(fill, int.MinValue);
        b.Upload(t, fill);
        return t;
    }

    public static float[] Get(this IBackend b, Tensor t) { var a = new float[t.Length]; b.Download(t, a); return a; }
    public static int[] Get(this IBackend b, IntTensor t) { var a = new int[t.Length]; b.Download(t, a); return a; }

    public static void Close(this IBackend b, Tensor actual, double[] expected, string what, double tol = Tol)
    {
        double e = TestData.RelativeError(b.Get(actual), expected);
        Assert.True(e < tol, $"{what}: relative error {e:E3} is not below {tol:E1}");
    }

    /// <summary>Bitwise equality of two downloads (determinism checks).</summary>
    public static void SameBits(float[] a, float[] b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(a[i]) == BitConverter.SingleToInt32Bits(b[i]), $"{what}: element {i} differs between runs ({a[i]} vs {b[i]})");
    }
}

using Minimind.Kernels.Cpu;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>Allocation, upload/download round trips and the zero-copy host views.</summary>
public class CpuMemoryTests
{
    private sealed class ForeignBuffer : IDeviceBuffer
    {
        public long Length => 4;
        public void Dispose() { }
    }

    [Fact]
    public void Alloc_IsZeroed_AndRoundTrips()
    {
        using var b = new CpuBackend(2);
        var t = b.Alloc(5);
        Assert.All(CpuBackend.Span(t).ToArray(), v => Assert.Equal(0f, v));
        b.Upload(t.Slice(1, 3), new[] { 1f, 2f, 3f });
        var back = new float[5];
        b.Download(t, back);
        Assert.Equal(new[] { 0f, 1f, 2f, 3f, 0f }, back);

        var it = b.AllocInt(4);
        b.Upload(it.Slice(2, 2), new[] { 7, -9 });
        var ib = new int[4];
        b.Download(it, ib);
        Assert.Equal(new[] { 0, 0, 7, -9 }, ib);
        // the span is a view, not a copy
        CpuBackend.Span(it)[0] = 5;
        b.Download(it, ib);
        Assert.Equal(5, ib[0]);
    }

    [Fact]
    public void Errors_NameTheProblem()
    {
        using var b = new CpuBackend(1);
        var ex = Assert.Throws<ArgumentException>(() => CpuBackend.Span(new Tensor(new ForeignBuffer(), 0, 4)));
        Assert.Contains("ForeignBuffer", ex.Message);
        var up = Assert.Throws<ArgumentException>(() => b.Upload(b.Alloc(2), new float[3]));
        Assert.Contains("Upload", up.Message);
        var cp = Assert.Throws<ArgumentException>(() => b.Copy(b.Alloc(2), b.Alloc(3)));
        Assert.Contains("Copy", cp.Message);
    }
}

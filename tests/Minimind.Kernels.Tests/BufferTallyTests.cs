using Minimind.Kernels.Cpu;
using Minimind.Kernels.Ilgpu;

namespace Minimind.Kernels.Tests;

/// <summary>
/// <see cref="IBackend.Memory"/>: live and peak bytes follow a hand-counted sequence of allocations and disposals on
/// the CPU backend and the ILGPU simulator (fresh backends, so no other test's buffers are counted).
/// </summary>
public class BufferTallyTests
{
    public static IEnumerable<object[]> Backends() => new[] { new object[] { "cpu" }, new object[] { "ilgpu-cpu" } };

    private static IBackend Create(string name) => name == "cpu" ? new CpuBackend(1) : IlgpuBackend.CreateCpuSimulator();

    [Theory]
    [MemberData(nameof(Backends))]
    public void LiveAndPeak_FollowAllocationsAndDisposals(string name)
    {
        using var b = Create(name);
        var m = b.Memory;
        Assert.Equal(0, m.LiveBytes);
        var f = b.Alloc(100);      // 400 B
        var i = b.AllocInt(50);    // 200 B
        Assert.Equal(600, m.LiveBytes);
        f.Buffer.Dispose();
        Assert.Equal(200, m.LiveBytes);
        var g = b.Alloc(30);       // 120 B
        Assert.Equal(320, m.LiveBytes);
        Assert.Equal(600, m.PeakBytes);
        i.Buffer.Dispose();
        i.Buffer.Dispose();        // a second dispose frees nothing more
        Assert.Equal(120, m.LiveBytes);
        m.ResetPeak();
        Assert.Equal(120, m.PeakBytes);
        var h = b.Alloc(10);       // 40 B: a new, lower mark
        h.Buffer.Dispose();
        Assert.Equal(160, m.PeakBytes);
        g.Buffer.Dispose();
        Assert.Equal(0, m.LiveBytes);
    }

    [Fact]
    public void EmptyBuffers_CountWhatTheDeviceHolds()
    {
        using var cpu = new CpuBackend(1);
        cpu.Alloc(0);
        Assert.Equal(0, cpu.Memory.LiveBytes);   // an empty managed array
        using var ilgpu = IlgpuBackend.CreateCpuSimulator();
        ilgpu.Alloc(0);
        Assert.Equal(4, ilgpu.Memory.LiveBytes); // a device buffer holds at least one element
    }

    [Fact]
    public void IlgpuScratch_IsCounted()
    {
        using var b = IlgpuBackend.CreateCpuSimulator();
        var g = b.Alloc(1000);
        b.Fill(g, 1f);
        long before = b.Memory.LiveBytes;
        b.SumOfSquares(g); // partial sums in a double scratch buffer of the backend
        Assert.True(b.Memory.LiveBytes > before, $"{b.Memory.LiveBytes} <= {before}");
    }
}

using System.Numerics.Tensors;
using Minimind.Kernels.Distributed;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The reference-speed CPU backend: managed arrays, SIMD through <see cref="TensorPrimitives"/> and
/// <see cref="System.Runtime.Intrinsics.Vector256"/>, a packed SGEMM, and multi-threading over fixed
/// partitions of output elements. Every op is synchronous, and its result bits do not depend on the
/// thread count (each output element is reduced in a fixed order inside one work item).
/// </summary>
public sealed partial class CpuBackend : IBackend, IRankTransport
{
    private readonly WorkPartition _work;

    /// <summary>Creates the backend with <paramref name="threads"/> workers (0 = <see cref="Environment.ProcessorCount"/>).</summary>
    public CpuBackend(int threads = 0)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be >= 0 (0 = all cores), got {threads}");
        _work = new WorkPartition(threads);
    }

    /// <summary>Worker threads used by the ops.</summary>
    public int Threads => _work.Threads;

    /// <inheritdoc/>
    public string Name => "cpu";

    /// <inheritdoc/>
    /// <remarks>No limits: the CPU kernels take any head dim.</remarks>
    public BackendLimits Limits { get; } = BackendLimits.None with
    {
        MaxBufferElements = Array.MaxLength, MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
    };

    /// <inheritdoc/>
    public string DeviceName =>
        $"CPU ({_work.Threads} threads, {(System.Runtime.Intrinsics.X86.Fma.IsSupported ? "AVX2+FMA" : "portable SIMD")}, {Environment.ProcessorCount} logical cores)";

    /// <inheritdoc/>
    /// <remarks>Buffers are host memory: MPI exchanges them in place; no NCCL.</remarks>
    public IRankTransport Transport => this;

    bool IRankTransport.TryHostView(Tensor t, out Span<float> view) { view = Span(t); return true; }
    string? IRankTransport.NcclUnavailable => $"{Name} backend";
    NcclCommunicator IRankTransport.OpenNccl(ICommunicator mpi, NcclLibrary library) => throw new NotSupportedException("NCCL needs the CUDA backend (--device cuda)");

    // ---- host views ---------------------------------------------------------------------------

    /// <summary>Zero-copy host view of a CPU-backend float tensor.</summary>
    public static Span<float> Span(Tensor t)
    {
        var (a, o) = Arr(t);
        return a.AsSpan(o, checked((int)t.Length));
    }

    /// <summary>Zero-copy host view of a CPU-backend int tensor.</summary>
    public static Span<int> Span(IntTensor t)
    {
        var (a, o) = Arr(t);
        return a.AsSpan(o, checked((int)t.Length));
    }

    internal static (float[] Data, int Offset) Arr(Tensor t)
    {
        if (t.Buffer is CpuBuffer<float> b) return (b.Data, (int)t.Offset);
        throw new ArgumentException(t.Buffer is null
            ? "tensor has no buffer (default Tensor)"
            : $"tensor buffer is {t.Buffer.GetType().Name}, not a CPU backend float buffer");
    }

    internal static (int[] Data, int Offset) Arr(IntTensor t)
    {
        if (t.Buffer is CpuBuffer<int> b) return (b.Data, (int)t.Offset);
        throw new ArgumentException(t.Buffer is null
            ? "int tensor has no buffer (default IntTensor)"
            : $"int tensor buffer is {t.Buffer.GetType().Name}, not a CPU backend int buffer");
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public Tensor Alloc(long length) { var b = new CpuBuffer<float>(length); return new Tensor(b, 0, length); }

    /// <inheritdoc/>
    public IntTensor AllocInt(long length) { var b = new CpuBuffer<int>(length); return new IntTensor(b, 0, length); }

    /// <inheritdoc/>
    public void Upload(Tensor dst, ReadOnlySpan<float> src)
    {
        OpContract.Transfer(dst, src.Length, nameof(Upload), nameof(dst));
        src.CopyTo(Span(dst));
    }

    /// <inheritdoc/>
    public void Upload(IntTensor dst, ReadOnlySpan<int> src)
    {
        OpContract.Transfer(dst, src.Length, nameof(Upload), nameof(dst));
        src.CopyTo(Span(dst));
    }

    /// <inheritdoc/>
    public void Download(Tensor src, Span<float> dst)
    {
        OpContract.Transfer(src, dst.Length, nameof(Download), nameof(src));
        Span(src)[..dst.Length].CopyTo(dst);
    }

    /// <inheritdoc/>
    public void Download(IntTensor src, Span<int> dst)
    {
        OpContract.Transfer(src, dst.Length, nameof(Download), nameof(src));
        Span(src)[..dst.Length].CopyTo(dst);
    }

    /// <inheritdoc/>
    public void Fill(Tensor t, float value)
    {
        var (a, o) = Arr(t);
        _work.For(t.Length, 1 << 18, (s, e) => a.AsSpan(o + (int)s, (int)(e - s)).Fill(value));
    }

    /// <inheritdoc/>
    public void Copy(Tensor dst, Tensor src)
    {
        OpContract.Copy(dst, src);
        Span(src).CopyTo(Span(dst));
    }

    /// <inheritdoc/>
    public void Synchronize() { }

    /// <summary>Nothing to release: buffers are managed arrays.</summary>
    public void Dispose() { }

    // ---- elementwise --------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Add(Tensor y, Tensor a, Tensor b)
    {
        OpContract.Add(y, a, b);
        var (ya, yo) = Arr(y); var (aa, ao) = Arr(a); var (ba, bo) = Arr(b);
        _work.For(y.Length, 1 << 16, (s, e) =>
        {
            int n = (int)(e - s);
            TensorPrimitives.Add(aa.AsSpan(ao + (int)s, n), ba.AsSpan(bo + (int)s, n), ya.AsSpan(yo + (int)s, n));
        });
    }

    /// <inheritdoc/>
    public void AddInPlace(Tensor y, Tensor x)
    {
        OpContract.AddInPlace(y, x);
        var (ya, yo) = Arr(y); var (xa, xo) = Arr(x);
        _work.For(y.Length, 1 << 16, (s, e) =>
        {
            int n = (int)(e - s);
            var ys = ya.AsSpan(yo + (int)s, n);
            TensorPrimitives.Add(ys, xa.AsSpan(xo + (int)s, n), ys);
        });
    }

    /// <inheritdoc/>
    public void Scale(Tensor y, float s)
    {
        var (ya, yo) = Arr(y);
        _work.For(y.Length, 1 << 16, (st, e) =>
        {
            var ys = ya.AsSpan(yo + (int)st, (int)(e - st));
            TensorPrimitives.Multiply(ys, s, ys);
        });
    }
}

using System.Numerics.Tensors;
using Minimind.Kernels.Distributed;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The reference-speed CPU backend: managed arrays, SIMD kernels chosen at run time from the CPU's features
/// (<see cref="CpuIsa"/>: AVX-512, AVX2+FMA or portable <see cref="System.Runtime.Intrinsics.Vector128"/>), a packed
/// SGEMM, and multi-threading over fixed partitions of output elements. Every op is synchronous, and its result bits
/// depend neither on the thread count nor on the path (each output element is reduced in a fixed order inside one
/// work item, with the same roundings on every path). The ops assume checked arguments and non-empty work:
/// <see cref="CpuBackend"/>, the public type, is <see cref="CheckedBackend"/> around them.
/// </summary>
internal sealed partial class CpuOps : IBackend, IRankTransport
{
    private readonly WorkPartition _work;
    private readonly bool _keepPackedWeights;

    /// <summary>Creates the backend with <paramref name="threads"/> workers (0 = <see cref="Environment.ProcessorCount"/>)
    /// on the kernel path <paramref name="isa"/> (null = <see cref="CpuIsas.Default"/>, the best this CPU runs);
    /// <paramref name="keepPackedWeights"/> false makes <see cref="KeepWeights"/> a no-op (every matmul packs its B);
    /// <paramref name="emulate"/> (or <c>MINIMIND_CPU_EMULATE_AVX512=1</c>) lets the AVX-512 path run emulated where the
    /// CPU lacks it (<see cref="CpuIsas.IsEmulated"/>).</summary>
    public CpuOps(int threads = 0, CpuIsa? isa = null, bool keepPackedWeights = true, bool emulate = false)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be >= 0 (0 = all cores), got {threads}");
        var path = isa ?? CpuIsas.Default;
        if (!CpuIsas.IsSupported(path) && !(CpuIsas.IsEmulated(path) && (emulate || CpuIsas.EmulationRequested)))
            throw new PlatformNotSupportedException($"CPU path {path.Name()} needs instructions this CPU or runtime lacks (best available: {CpuIsas.Hardware.Name()})"
                + (CpuIsas.IsEmulated(path) ? $"; {CpuIsas.EmulateVariable}=1 runs it emulated in software (slow: for checking its bits)" : ""));
        _work = new WorkPartition(threads);
        Isa = path;
        _keepPackedWeights = keepPackedWeights;
    }

    /// <summary>Worker threads used by the ops.</summary>
    public int Threads => _work.Threads;

    /// <summary>The kernel path the ops run on.</summary>
    public CpuIsa Isa { get; }

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
        $"CPU ({_work.Threads} threads, {PathName}, {Environment.ProcessorCount} logical cores)";

    /// <summary>The kernel path in words, e.g. "AVX-512 kernels (12×32 SGEMM)" or "AVX2+FMA kernels (6×16 SGEMM; capped by DOTNET_EnableAVX512F=0)".</summary>
    public string PathName
    {
        get
        {
            string kernels = Isa switch
            {
                CpuIsa.Avx512 => $"AVX-512 kernels ({GemmKernelAvx512.MR}×{GemmKernelAvx512.NR} SGEMM",
                CpuIsa.Avx2 => $"AVX2+FMA kernels ({GemmKernelAvx2.MR}×{GemmKernelAvx2.NR} SGEMM",
                _ => $"portable Vector128 kernels ({GemmKernelPortable.MR}×{GemmKernelPortable.NR} SGEMM",
            };
            string why = CpuIsas.IsEmulated(Isa) ? $"; emulated in software, this CPU runs {CpuIsas.Hardware.Name()}"
                : Isa < CpuIsas.Hardware
                ? Isa == CpuIsas.Default && CpuIsas.DefaultReason is { } r ? $"; capped by {r}" : $"; this CPU also runs {CpuIsas.Hardware.Name()}"
                : "";
            return kernels + why + ")";
        }
    }

    /// <inheritdoc/>
    /// <remarks>Buffers are host memory: MPI exchanges them in place; no NCCL.</remarks>
    public IRankTransport Transport => this;

    bool IRankTransport.TryHostView(Tensor t, out Span<float> view) { view = Span(t); return true; }
    string? IRankTransport.NcclUnavailable => $"{Name} backend";
    NcclCommunicator IRankTransport.OpenNccl(ICommunicator mpi, NcclLibrary library) => throw new NotSupportedException("NCCL needs the CUDA backend (--device cuda)");

    // ---- host views ---------------------------------------------------------------------------

    // Access to a buffer's array: Arr and Span hand out write access and advance the buffer's version first (so packed
    // panels of it are never used again); In is for inputs an op only reads. A write through an In array would leave
    // stale panels: an op's outputs, and anything it writes in place, take Arr.

    /// <summary>Zero-copy host view of a CPU-backend float tensor. Taking it counts as a write of the buffer (packed
    /// panels of it are dropped); write through it before the next op reads the buffer.</summary>
    public static Span<float> Span(Tensor t)
    {
        var (a, o) = Arr(t);
        return a.AsSpan(o, checked((int)t.Length));
    }

    /// <summary>Zero-copy host view of a CPU-backend int tensor (counts as a write of the buffer).</summary>
    public static Span<int> Span(IntTensor t)
    {
        var (a, o) = Arr(t);
        return a.AsSpan(o, checked((int)t.Length));
    }

    /// <summary>Read-only host view of a CPU-backend float tensor.</summary>
    public static ReadOnlySpan<float> ReadSpan(Tensor t)
    {
        var (a, o) = In(t);
        return a.AsSpan(o, checked((int)t.Length));
    }

    /// <summary>The array and offset of a tensor the caller writes (an op output or in-place operand): the buffer's version advances.</summary>
    internal static (float[] Data, int Offset) Arr(Tensor t)
    {
        var b = Buffer(t);
        b.Written();
        return (b.Data, (int)t.Offset);
    }

    /// <summary>The array and offset of an int tensor the caller writes: the buffer's version advances.</summary>
    internal static (int[] Data, int Offset) Arr(IntTensor t)
    {
        var b = Buffer(t);
        b.Written();
        return (b.Data, (int)t.Offset);
    }

    /// <summary>The array and offset of a tensor the caller only reads.</summary>
    internal static (float[] Data, int Offset) In(Tensor t) => (Buffer(t).Data, (int)t.Offset);

    /// <summary>The array and offset of an int tensor the caller only reads.</summary>
    internal static (int[] Data, int Offset) In(IntTensor t) => (Buffer(t).Data, (int)t.Offset);

    private static CpuBuffer<float> Buffer(Tensor t) => t.Buffer as CpuBuffer<float> ?? throw new ArgumentException(t.Buffer is null
        ? "tensor has no buffer (default Tensor)"
        : $"tensor buffer is {t.Buffer.GetType().Name}, not a CPU backend float buffer");

    private static CpuBuffer<int> Buffer(IntTensor t) => t.Buffer as CpuBuffer<int> ?? throw new ArgumentException(t.Buffer is null
        ? "int tensor has no buffer (default IntTensor)"
        : $"int tensor buffer is {t.Buffer.GetType().Name}, not a CPU backend int buffer");

    /// <inheritdoc/>
    /// <remarks>Keeps the buffer's packed SGEMM panels (<see cref="PackedWeights"/>), unless the backend was created without.</remarks>
    public void KeepWeights(Tensor weights, bool frozen = false)
    {
        if (!_keepPackedWeights) return;
        var b = Buffer(weights);
        b.Packed ??= new PackedWeights();
        if (frozen) b.Packed.FromFirstUse = true;
    }

    /// <summary>Bytes of packed panels kept for <paramref name="weights"/>'s buffer (0 when none).</summary>
    public static long PackedBytes(Tensor weights) => Buffer(weights).Packed?.Bytes ?? 0;

    // The kept panels of w as B (element (p, j) at w[off + p·rs + j·cs], K × N), or null: not kept, or not packed yet at
    // this version (PackedWeights.Get: kept from the second use on).
    private PackedPanels? KeptPanels(Tensor w, int n, int k, int rs, int cs, Precision precision)
    {
        var b = Buffer(w);
        if (b.Packed is not { } kept || k <= 0) return null;
        var (wa, wo) = (b.Data, (int)w.Offset);
        return kept.Get(b, new PackedWeights.Key(w.Offset, n, k, rs, cs, precision, Isa),
            reuse => Sgemm.Pack(_work, Isa, n, k, wa, wo, rs, cs, precision, reuse));
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public BufferTally Memory { get; } = new();

    /// <inheritdoc/>
    public Tensor Alloc(long length) { var b = new CpuBuffer<float>(length, Memory); return new Tensor(b, 0, length); }

    /// <inheritdoc/>
    public IntTensor AllocInt(long length) { var b = new CpuBuffer<int>(length, Memory); return new IntTensor(b, 0, length); }

    /// <inheritdoc/>
    public void Upload(Tensor dst, ReadOnlySpan<float> src)
    {
        src.CopyTo(Span(dst));
    }

    /// <inheritdoc/>
    public void Upload(IntTensor dst, ReadOnlySpan<int> src)
    {
        src.CopyTo(Span(dst));
    }

    /// <inheritdoc/>
    public void Download(Tensor src, Span<float> dst)
    {
        ReadSpan(src)[..dst.Length].CopyTo(dst);
    }

    /// <inheritdoc/>
    public void Download(IntTensor src, Span<int> dst)
    {
        var (a, o) = In(src);
        a.AsSpan(o, dst.Length).CopyTo(dst);
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
        ReadSpan(src).CopyTo(Span(dst));
    }

    /// <inheritdoc/>
    public void Synchronize() { }

    /// <summary>Nothing to release: buffers are managed arrays.</summary>
    public void Dispose() { }

    // ---- elementwise --------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Add(Tensor y, Tensor a, Tensor b)
    {
        var (ya, yo) = Arr(y); var (aa, ao) = In(a); var (ba, bo) = In(b);
        _work.For(y.Length, 1 << 16, (s, e) =>
        {
            int n = (int)(e - s);
            TensorPrimitives.Add(aa.AsSpan(ao + (int)s, n), ba.AsSpan(bo + (int)s, n), ya.AsSpan(yo + (int)s, n));
        });
    }

    /// <inheritdoc/>
    public void AddInPlace(Tensor y, Tensor x)
    {
        var (ya, yo) = Arr(y); var (xa, xo) = In(x);
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

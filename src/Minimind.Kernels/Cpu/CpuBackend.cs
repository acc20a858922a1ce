namespace Minimind.Kernels.Cpu;

/// <summary>
/// The SIMD CPU backend (<c>--device cpu</c>): the CPU kernels (managed arrays, AVX-512, AVX2+FMA or portable
/// <see cref="System.Runtime.Intrinsics.Vector128"/> paths chosen at run time, a packed SGEMM, fixed work partitions so
/// the bits depend neither on the thread count nor on the path) behind <see cref="CheckedBackend"/>, so every op's
/// arguments are checked before the kernels run.
/// </summary>
public sealed class CpuBackend : CheckedBackend
{
    /// <summary>Creates the backend with <paramref name="threads"/> workers (0 = <see cref="Environment.ProcessorCount"/>)
    /// on the kernel path <paramref name="isa"/> (null = <see cref="CpuIsas.Default"/>, the best this CPU runs).
    /// <paramref name="keepPackedWeights"/> false ignores <see cref="IBackend.KeepWeights"/>: every matmul packs its weight
    /// again (the reference the kept panels are tested against; the same bits).</summary>
    public CpuBackend(int threads = 0, CpuIsa? isa = null, bool keepPackedWeights = true) : base(new CpuOps(threads, isa, keepPackedWeights)) { }

    /// <summary>As the public constructor; <paramref name="emulate"/> lets <paramref name="isa"/> be the AVX-512 path on a CPU
    /// without it, emulated in software (<see cref="CpuIsas.IsEmulated"/>): the tests' way to run every path anywhere.</summary>
    internal CpuBackend(int threads, CpuIsa? isa, bool keepPackedWeights, bool emulate) : base(new CpuOps(threads, isa, keepPackedWeights, emulate)) { }

    private CpuOps Ops => (CpuOps)Inner;

    /// <summary>Worker threads used by the ops.</summary>
    public int Threads => Ops.Threads;

    /// <summary>The kernel path the ops run on.</summary>
    public CpuIsa Isa => Ops.Isa;

    /// <summary>The kernel path in words, e.g. "AVX-512 kernels (12×32 SGEMM)" or "AVX2+FMA kernels (6×16 SGEMM; capped by DOTNET_EnableAVX512F=0)".</summary>
    public string PathName => Ops.PathName;

    /// <summary>Zero-copy host view of a CPU-backend float tensor. Taking it counts as a write of the buffer (packed
    /// panels of it are dropped); write through it before the next op reads the buffer.</summary>
    public static Span<float> Span(Tensor t) => CpuOps.Span(t);

    /// <summary>Read-only host view of a CPU-backend float tensor (not a write: packed panels stay valid).</summary>
    public static ReadOnlySpan<float> ReadSpan(Tensor t) => CpuOps.ReadSpan(t);

    /// <summary>Bytes of packed matmul panels kept for <paramref name="weights"/>' buffer (<see cref="IBackend.KeepWeights"/>; 0 when none).</summary>
    public static long PackedBytes(Tensor weights) => CpuOps.PackedBytes(weights);

    /// <summary>Zero-copy host view of a CPU-backend int tensor.</summary>
    public static Span<int> Span(IntTensor t) => CpuOps.Span(t);
}

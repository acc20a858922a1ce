namespace Minimind.Kernels;

/// <summary>What a backend can run, stated up front so a model refuses an unsupported configuration at
/// construction instead of failing inside an op. The op contract checks the same limits on every call.</summary>
/// <param name="MaxHeadDim">Largest attention head width the attention ops accept.</param>
/// <param name="ReducedPrecision">Whether matmul and attention accept <see cref="Precision.Bf16"/>/<see cref="Precision.Fp16"/> shapes.</param>
/// <param name="MaxBufferElements">Most elements one <see cref="IBackend.Alloc"/> can hold (a .NET array's limit on the CPU).</param>
/// <param name="MemoryBytes">Memory the backend's buffers come from (the machine's on the CPU), for refusing a model that cannot fit
/// before allocating it; long.MaxValue where unknown.</param>
public readonly record struct BackendLimits(int MaxHeadDim, bool ReducedPrecision = false, long MaxBufferElements = long.MaxValue,
    long MemoryBytes = long.MaxValue)
{
    /// <summary>No limit beyond what fits in memory.</summary>
    public static BackendLimits None { get; } = new(int.MaxValue, ReducedPrecision: true);
}

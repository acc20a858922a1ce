using Minimind.Kernels.Cpu;

namespace Minimind.Kernels.Tests.Cpu;

/// <summary>
/// The CPU kernel paths the cross-path tests compare: every path this CPU runs, plus the AVX-512 path emulated in
/// software where the CPU lacks it (<see cref="CpuIsas.IsEmulated"/>), so the AVX-512 code's bits are checked on every
/// machine the tests run on, not only on AVX-512 ones.
/// </summary>
internal static class CpuTestPaths
{
    /// <summary>Every path in enum order: portable, AVX2+FMA where the CPU has it, AVX-512 (native or emulated).</summary>
    public static readonly CpuIsa[] All = Enum.GetValues<CpuIsa>().Where(i => CpuIsas.IsSupported(i) || CpuIsas.IsEmulated(i)).ToArray();

    /// <summary>A backend on <paramref name="isa"/>, emulated where <see cref="CpuIsas.IsEmulated"/> says it must be.</summary>
    public static CpuBackend Backend(int threads, CpuIsa isa, bool keepPackedWeights = true) =>
        new(threads, isa, keepPackedWeights, emulate: CpuIsas.IsEmulated(isa));
}

using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Minimind.Kernels.Cpu;

/// <summary>
/// The instruction-set path of the CPU backend's kernels. Every path computes every output element in the same
/// order with the same roundings (FMA where the kernels fuse, fixed 16-lane partial sums in row reductions), so a run
/// gives the same bits on each; the paths differ only in speed.
/// </summary>
public enum CpuIsa
{
    /// <summary><see cref="Vector128"/> code with <see cref="Vector128.FusedMultiplyAdd(Vector128{float}, Vector128{float}, Vector128{float})"/>
    /// (hardware FMA where there is one, an exact software FMA otherwise): any CPU .NET runs on.</summary>
    Portable = 0,
    /// <summary>AVX2 + FMA3 (Haswell and later, Zen 1 and later): 256-bit kernels.</summary>
    Avx2 = 1,
    /// <summary>AVX-512 F/BW/DQ/VL (Skylake-SP and later, Zen 4 and later): 512-bit kernels.</summary>
    Avx512 = 2,
}

/// <summary>Which <see cref="CpuIsa"/> this process can run and which one it uses unless told otherwise.</summary>
public static class CpuIsas
{
    /// <summary>Environment variable that caps the default path: <c>avx512</c>, <c>avx2</c> or <c>portable</c>.</summary>
    public const string OverrideVariable = "MINIMIND_CPU_ISA";

    /// <summary>Environment variable that, set to <c>1</c> where the CPU or runtime lacks AVX-512, makes the AVX-512 path
    /// the default with its 512-bit vectors emulated in software (<see cref="IsEmulated"/>): many times slower, for
    /// checking on any machine that this path writes the same bits as the others.</summary>
    public const string EmulateVariable = "MINIMIND_CPU_EMULATE_AVX512";

    /// <summary>The best path the hardware and the runtime allow (before any cap).</summary>
    public static CpuIsa Hardware { get; } = DetectHardware();

    /// <summary>Whether <c>MINIMIND_CPU_EMULATE_AVX512=1</c> asked for the emulated AVX-512 path.</summary>
    public static bool EmulationRequested { get; } = ParseSwitch(EmulateVariable, Environment.GetEnvironmentVariable(EmulateVariable));

    /// <summary>The default path: <see cref="Hardware"/> (AVX-512 emulated where <see cref="EmulationRequested"/> and the
    /// hardware lacks it), lowered by <c>MINIMIND_CPU_ISA</c> or <c>DOTNET_EnableAVX512F=0</c>.</summary>
    public static CpuIsa Default => Chosen.Isa;

    /// <summary>Why <see cref="Default"/> is below <see cref="Hardware"/> (null when it is not).</summary>
    public static string? DefaultReason => Chosen.Reason;

    // After Hardware and EmulationRequested: static initialisers run in textual order.
    private static readonly (CpuIsa Isa, string? Reason) Chosen = Choose();

    /// <summary>Whether this process can run <paramref name="isa"/> on its hardware.</summary>
    public static bool IsSupported(CpuIsa isa) => isa <= Hardware;

    /// <summary>
    /// Whether <paramref name="isa"/> runs here only emulated: the AVX-512 path where the CPU or runtime has no 512-bit
    /// vectors. Its kernels are written with the cross-platform <see cref="Vector512"/> API, which .NET then executes in
    /// software (each operation on 256-bit halves or lane by lane, with the same IEEE result per lane), so the path's
    /// code, its 12×32 blocking, its 16-lane shuffles and its summation order all run and give the bits the hardware
    /// gives. Only the instructions the JIT would emit are not exercised.
    /// </summary>
    public static bool IsEmulated(CpuIsa isa) => isa == CpuIsa.Avx512 && Hardware < CpuIsa.Avx512;

    /// <summary>The short name used on the command line and in logs: avx512, avx2, portable.</summary>
    public static string Name(this CpuIsa isa) => isa switch { CpuIsa.Avx512 => "avx512", CpuIsa.Avx2 => "avx2", _ => "portable" };

    /// <summary>Parses avx512, avx2 or portable (case-insensitive).</summary>
    public static CpuIsa Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "avx512" or "avx-512" => CpuIsa.Avx512,
        "avx2" => CpuIsa.Avx2,
        "portable" => CpuIsa.Portable,
        _ => throw new ArgumentException($"CPU path '{text}' is not one of: avx512, avx2, portable"),
    };

    // AVX-512 needs F (the 512-bit FMA), BW and VL (16-bit element and masked 256-bit forms used by the packing) and DQ.
    // .NET 10 reports all of them off under DOTNET_EnableAVX512=0; AVX2 needs FMA3 too (every AVX2 CPU has it).
    private static CpuIsa DetectHardware()
    {
        if (Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported && Vector512.IsHardwareAccelerated)
            return CpuIsa.Avx512;
        if (Avx2.IsSupported && Fma.IsSupported) return CpuIsa.Avx2;
        return CpuIsa.Portable;
    }

    /// <summary>
    /// <paramref name="hardware"/> lowered by the <c>MINIMIND_CPU_ISA</c> value (a cap, never a raise) and by
    /// <c>DOTNET_EnableAVX512F=0</c>: .NET 8/9's switch for AVX-512, which .NET 10 no longer reads (its switch is
    /// <c>DOTNET_EnableAVX512</c>), honoured here so the documented fallback test keeps working.
    /// </summary>
    internal static CpuIsa Cap(CpuIsa hardware, string? overrideValue, string? enableAvx512F, out string? reason)
    {
        reason = null;
        var isa = hardware;
        if (enableAvx512F?.Trim() == "0" && isa > CpuIsa.Avx2)
        {
            isa = CpuIsa.Avx2;
            reason = "DOTNET_EnableAVX512F=0";
        }
        if (!string.IsNullOrWhiteSpace(overrideValue))
        {
            CpuIsa asked;
            try { asked = Parse(overrideValue); }
            catch (ArgumentException e) { throw new ArgumentException($"{OverrideVariable}={overrideValue}: {e.Message}"); }
            if (asked < isa)
            {
                isa = asked;
                reason = $"{OverrideVariable}={overrideValue}";
            }
        }
        return isa;
    }

    /// <summary>An on/off variable: unset, empty or 0 is off, 1 is on; anything else is refused, naming the variable.</summary>
    internal static bool ParseSwitch(string variable, string? value) => value?.Trim() switch
    {
        null or "" or "0" => false,
        "1" => true,
        _ => throw new ArgumentException($"{variable}={value}: expected 1 (on) or 0 (off)"),
    };

    private static (CpuIsa, string?) Choose()
    {
        var isa = Cap(EmulationRequested ? CpuIsa.Avx512 : Hardware, Environment.GetEnvironmentVariable(OverrideVariable),
            Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F"), out var reason);
        // A cap below the emulated AVX-512 path can name AVX2 on a CPU without it (DOTNET_EnableAVX512F=0): the hardware's best then.
        return (IsSupported(isa) || IsEmulated(isa) ? isa : Hardware, reason);
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Minimind.Kernels.Cpu;

namespace Minimind.Benchmarks;

/// <summary>
/// Each supported SGEMM micro-kernel alone: <c>Block</c> over one A panel (MR·kc) and one B panel (NR·kc) that stay in
/// L1, repeated, timed in the calling thread's CPU time (so a shared machine's load is left out). The figure is the
/// kernel's ceiling; a full SGEMM adds packing, merging and cache misses. Run: <c>gemm-kernel [kc] [seconds]</c>.
/// </summary>
public static unsafe class GemmKernelPeak
{
    /// <summary>Prints GFLOP/s per kernel; args: kc (256) and seconds per kernel (1).</summary>
    public static int Run(string[] args)
    {
        int kc = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : Sgemm.KC;
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1;
        Console.WriteLine($"micro-kernel alone, kc {kc}, panels in L1, 1 thread CPU time; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        if (CpuIsas.IsSupported(CpuIsa.Avx2)) FmaPeak(seconds);
        if (CpuIsas.IsSupported(CpuIsa.Avx512)) Time<GemmKernelAvx512>(kc, seconds);
        if (CpuIsas.IsSupported(CpuIsa.Avx2)) Time<GemmKernelAvx2>(kc, seconds);
        Time<GemmKernelPortable>(kc, seconds);
        return 0;
    }

    // 12 independent 256-bit FMA chains, no loads: the core's FMA throughput at its present clock, the kernels' roof.
    private static void FmaPeak(double seconds)
    {
        double best = 0;
        for (int round = 0; round < 5; round++)
        {
            long iters = 0;
            double c0 = SgemmVsOpenBlas.ThreadCpuSeconds(), c1;
            do { Chains(1_000_000); iters += 1_000_000; c1 = SgemmVsOpenBlas.ThreadCpuSeconds(); } while (c1 - c0 < seconds / 5);
            best = Math.Max(best, 12.0 * 16 * iters / (c1 - c0) / 1e9);
        }
        Console.WriteLine($"FMA roof (12 ymm chains): {best:F1} GFLOP/s");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chains(int n)
    {
        var m = Vector256.Create(0.999f); var x = Vector256.Create(1e-3f);
        Vector256<float> c0 = x, c1 = x, c2 = x, c3 = x, c4 = x, c5 = x, c6 = x, c7 = x, c8 = x, c9 = x, c10 = x, c11 = x;
        for (int i = 0; i < n; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, x); c1 = Fma.MultiplyAdd(c1, m, x);
            c2 = Fma.MultiplyAdd(c2, m, x); c3 = Fma.MultiplyAdd(c3, m, x);
            c4 = Fma.MultiplyAdd(c4, m, x); c5 = Fma.MultiplyAdd(c5, m, x);
            c6 = Fma.MultiplyAdd(c6, m, x); c7 = Fma.MultiplyAdd(c7, m, x);
            c8 = Fma.MultiplyAdd(c8, m, x); c9 = Fma.MultiplyAdd(c9, m, x);
            c10 = Fma.MultiplyAdd(c10, m, x); c11 = Fma.MultiplyAdd(c11, m, x);
        }
        return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).ToScalar();
    }

    private static void Time<TK>(int kc, double seconds) where TK : struct, IGemmKernel
    {
        var a = new float[TK.MR * kc + 64];
        var b = new float[TK.NR * kc + 64];
        var t = new float[TK.MR * TK.NR + 64];
        var rng = new Random(1);
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble();
        double best = 0;
        fixed (float* pa = a, pb = b, pt = t)
        {
            float* ap = (float*)(((nint)pa + 63) & ~63), bp = (float*)(((nint)pb + 63) & ~63), tp = (float*)(((nint)pt + 63) & ~63);
            for (int round = 0; round < 5; round++)
            {
                int calls = 0;
                double c0 = SgemmVsOpenBlas.ThreadCpuSeconds(), c1;
                do
                {
                    for (int r = 0; r < 1000; r++) TK.Block<F32Panels>(kc, ap, (byte*)bp, tp);
                    calls += 1000;
                    c1 = SgemmVsOpenBlas.ThreadCpuSeconds();
                } while (c1 - c0 < seconds / 5);
                best = Math.Max(best, 2.0 * TK.MR * TK.NR * kc * calls / (c1 - c0) / 1e9);
            }
        }
        Console.WriteLine($"{TK.Isa.Name(),-9} {TK.MR}×{TK.NR}: {best:F1} GFLOP/s");
    }
}

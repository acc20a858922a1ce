using BenchmarkDotNet.Running;

namespace Minimind.Benchmarks;

/// <summary>BenchmarkDotNet entry point: <c>dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line; <c>sgemm-vs-openblas LIB [v1|m3] [reps]</c> runs
    /// <see cref="SgemmVsOpenBlas"/> instead, <c>bf16-panels [v1|m3] [reps] [paths]</c> <see cref="Bf16PanelAb"/>,
    /// <c>gemm-kernel [kc] [seconds]</c> <see cref="GemmKernelPeak"/>.</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "sgemm-vs-openblas") return SgemmVsOpenBlas.Run(args[1..]);
        if (args.Length > 0 && args[0] == "bf16-panels") return Bf16PanelAb.Run(args[1..]);
        if (args.Length > 0 && args[0] == "gemm-kernel") return GemmKernelPeak.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}

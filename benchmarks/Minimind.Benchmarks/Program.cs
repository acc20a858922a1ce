using BenchmarkDotNet.Running;

namespace Minimind.Benchmarks;

/// <summary>BenchmarkDotNet entry point: <c>dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks selected on the command line.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

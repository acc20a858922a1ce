using BenchmarkDotNet.Attributes;
using Minimind.Kernels;
using Minimind.Kernels.Cpu;

namespace Minimind.Benchmarks;

/// <summary>
/// The CPU backend's SGEMM in the three nn.Linear layouts at MiniMind's shapes (M×K×N, Y[M,N] = X[M,K]·W[N,K]ᵀ):
/// 512×1408×512 (a dim-512 FFN down-projection over 512 tokens) and 2048×512×6400 (the LM head over 2048 tokens).
/// GFLOP/s = 2·M·N·K / mean time. Compare with <c>tools/bench/sgemm_numpy.py</c> (OpenBLAS).
/// Run: <c>dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- --filter '*SgemmBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class SgemmBenchmarks
{
    private CpuBackend _backend = null!;
    private Tensor _x, _w, _y;

    /// <summary>M×K×N.</summary>
    [Params("512x1408x512", "2048x512x6400")]
    public string Shape { get; set; } = "512x1408x512";

    /// <summary>Worker threads (0 = all cores).</summary>
    [Params(0)]
    public int Threads { get; set; }

    private int M => int.Parse(Shape.Split('x')[0]);
    private int K => int.Parse(Shape.Split('x')[1]);
    private int N => int.Parse(Shape.Split('x')[2]);

    /// <summary>Allocates and fills the operands with seeded values.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = new CpuBackend(Threads);
        _x = _backend.Alloc((long)M * K); _w = _backend.Alloc((long)N * K); _y = _backend.Alloc((long)M * N);
        var rng = new Random(1);
        foreach (var t in new[] { _x, _w, _y })
        {
            var s = CpuBackend.Span(t);
            for (int i = 0; i < s.Length; i++) s[i] = (float)rng.NextDouble() - 0.5f;
        }
    }

    /// <summary>y = x·wᵀ.</summary>
    [Benchmark]
    public void Forward() => _backend.MatMul(_y, _x, _w, new(M, N, K));

    /// <summary>dx += dy·w.</summary>
    [Benchmark]
    public void BackwardInput() => _backend.MatMulBackwardInput(_x, _y, _w, new(M, N, K), WriteMode.Accumulate);

    /// <summary>dw += dyᵀ·x.</summary>
    [Benchmark]
    public void BackwardWeight() => _backend.MatMulBackwardWeight(_w, _y, _x, new(M, N, K), WriteMode.Accumulate);
}

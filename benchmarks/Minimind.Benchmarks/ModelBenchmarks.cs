using BenchmarkDotNet.Attributes;
using Minimind.Kernels.Cpu;
using Minimind.Model;
using Minimind.Model.Generation;

namespace Minimind.Benchmarks;

/// <summary>
/// minimind-v1 (dim 512, 8 layers, 16/8 heads, vocab 6400, 25.8 M parameters) on the CPU backend, random weights:
/// forward (logits of every position) over batch × 256 tokens, and KV-cache greedy generation of 64 tokens
/// after a 16-token prompt. tokens/s = batch·256 / mean (forward) or 64 / mean (generation).
/// Compare with <c>tools/reference/bench_forward.py</c> (PyTorch 1.13, 2 threads).
/// Run: <c>dotnet run -c Release --project benchmarks/Minimind.Benchmarks -- --filter '*ModelBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class ModelBenchmarks
{
    private CpuBackend _backend = null!;
    private MiniMindModel _model = null!;
    private int[] _ids = Array.Empty<int>();
    private const int Seq = 256;

    /// <summary>Sequences per forward.</summary>
    [Params(1, 8)]
    public int Batch { get; set; }

    /// <summary>Builds the model with seeded random weights and seeded token ids.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = new CpuBackend();
        _model = MiniMindModel.Create(ModelConfig.Preset("minimind-v1"), _backend, Batch, Seq);
        _model.InitRandom(1);
        var rng = new Random(2);
        _ids = Enumerable.Range(0, Batch * Seq).Select(_ => rng.Next(6400)).ToArray();
    }

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup() { _model.Dispose(); _backend.Dispose(); }

    /// <summary>Forward of batch × 256 tokens to logits.</summary>
    [Benchmark]
    public float[] Forward() => _model.Logits(_ids, Batch, Seq);

    /// <summary>16-token prefill + 64 greedy tokens with the KV cache (batch 1; the Batch parameter is ignored).</summary>
    [Benchmark]
    public int Generate64()
    {
        var sampler = new Sampler(new SamplingOptions { Greedy = true, TopP = 1, RepetitionPenalty = 1 });
        return TextGenerator.Generate(_model, _ids[..16], 64, sampler, eosId: -1).Count();
    }
}

using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Minimind.Checkpoint.Resume;

namespace Minimind.Benchmarks;

/// <summary>
/// The resume-state folder at minimind-v1 size (26.9 M parameters: weights + AdamW m and v as flat
/// float32, 3 × 107.5 MB): Commit = write, SHA-256, fsync each file, manifest, fsync, rename;
/// Verify = re-hash every file (what --resume does before trusting a folder). Folder in MM_BENCH_DIR or /tmp.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
[MinColumn, MaxColumn]
public class TrainingBenchmarks
{
    private const int Params = 26_878_464;
    private float[] _w = null!, _m = null!, _v = null!;
    private string _root = "";
    private long _step;

    /// <summary>Random buffers and a scratch folder.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _w = new float[Params]; _m = new float[Params]; _v = new float[Params];
        for (int i = 0; i < Params; i++) { _w[i] = (float)rng.NextDouble(); _m[i] = _w[i] * 1e-3f; _v[i] = _w[i] * 1e-6f; }
        _root = Path.Combine(Environment.GetEnvironmentVariable("MM_BENCH_DIR") ?? Path.GetTempPath(), "mm-train-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(_root);
        ResumeStore.Commit(_root, 0, Files());
    }

    private ResumeFile[] Files() => new[]
    {
        new ResumeFile("model.f32", s => s.Write(MemoryMarshal.AsBytes(_w.AsSpan()))),
        new ResumeFile("adam_m.f32", s => s.Write(MemoryMarshal.AsBytes(_m.AsSpan()))),
        new ResumeFile("adam_v.f32", s => s.Write(MemoryMarshal.AsBytes(_v.AsSpan()))),
        new ResumeFile("state.msgpack", s => s.Write(new byte[4096])),
    };

    /// <summary>One full checkpoint commit (then prune to 2 so the disk does not fill).</summary>
    [Benchmark]
    public void Commit()
    {
        ResumeStore.Commit(_root, ++_step, Files());
        ResumeStore.Prune(_root, 2);
    }

    /// <summary>Manifest + SHA-256 of every file of the newest folder.</summary>
    [Benchmark]
    public string? Verify() => ResumeStore.Verify(ResumeStore.ListSteps(_root)[0].Path, out _) ?? "";

    /// <summary>Deletes the scratch folder.</summary>
    [GlobalCleanup]
    public void Cleanup() { try { Directory.Delete(_root, true); } catch (IOException) { } }
}

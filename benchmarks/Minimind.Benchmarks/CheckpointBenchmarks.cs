using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Minimind.Checkpoint;

namespace Minimind.Benchmarks;

/// <summary>
/// Load and save of a real torch-written fp32 state dict. The file comes from
/// <c>tools/pth/bench_load_save.py</c>, which also times torch.load/torch.save and dd on the same
/// file and disk and passes the path in MM_PTH_BENCH_FILE. Load = parse + copy every tensor into one
/// flat float32 buffer (what a model load does); Save = write + fsync + rename (atomic).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 8)]
[MinColumn, MaxColumn]
public class CheckpointBenchmarks
{
    private string _file = "";
    private string _outFile = "";
    private ParameterTable _table = null!;
    private float[] _weights = null!;
    private StateDict _export = null!;
    private byte[] _rawBytes = null!;
    private string _rawFile = "";
    private string _halfFile = "";

    /// <summary>Reads the benchmark file's layout once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _file = Environment.GetEnvironmentVariable("MM_PTH_BENCH_FILE")
            ?? throw new InvalidOperationException("set MM_PTH_BENCH_FILE (tools/pth/bench_load_save.py does)");
        _outFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_file))!, "csharp_save.pth");
        var sd = StateDict.Read(_file);
        _table = new ParameterTable();
        var owners = new Dictionary<TorchStorage, string>(ReferenceEqualityComparer.Instance);
        foreach (var (k, t) in sd)
        {
            if (owners.TryGetValue(t.Storage, out var o)) _table.AddTied(k, o);
            else { _table.Add(k, t.Shape); owners[t.Storage] = k; }
        }
        _weights = new float[_table.TotalElements];
        StateDictLoader.Load(sd, _table, _weights, strict: true);
        _export = StateDictLoader.Export(_table, _weights, TorchDType.F32);
        PthWriter.WriteStateDict(_outFile, _export);
        _rawBytes = File.ReadAllBytes(_outFile);
        _rawFile = Path.Combine(Path.GetDirectoryName(_outFile)!, "raw_write.bin");
        // The same weights saved by torch as float16, as MiniMind saves its checkpoints ({k: v.half()}).
        _halfFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_file))!, "model_f16.pth");
        if (!File.Exists(_halfFile)) throw new InvalidOperationException($"{_halfFile} is missing (tools/pth/bench_load_save.py writes it)");
    }

    /// <summary>Loading a float16 checkpoint into the float32 model buffer (converted on the way).</summary>
    [Benchmark]
    public long LoadFloat16()
    {
        var sd = StateDict.Read(_halfFile);
        StateDictLoader.Load(sd, _table, _weights, strict: true);
        return sd.StorageBytes;
    }

    /// <summary>torch.load equivalent: parse the archive and materialise every tensor into the model buffer.</summary>
    [Benchmark]
    public long Load()
    {
        var sd = StateDict.Read(_file);
        StateDictLoader.Load(sd, _table, _weights, strict: true);
        return sd.StorageBytes;
    }

    /// <summary>As torch.load does: parse, allocate a fresh buffer (page faults included) and materialise into it.</summary>
    [Benchmark]
    public long LoadIntoNewBuffer()
    {
        var sd = StateDict.Read(_file);
        var w = GC.AllocateUninitializedArray<float>(checked((int)_table.TotalElements));
        StateDictLoader.Load(sd, _table, w, strict: true);
        return w.Length;
    }

    /// <summary>torch.save equivalent plus durability: atomic write with fsync of file and folder.</summary>
    [Benchmark]
    public void Save() => PthWriter.WriteStateDict(_outFile, _export);

    /// <summary>
    /// The disk's fsync bandwidth measured in the same run, as <c>dd bs=1M conv=fsync</c> does it: the saved
    /// file's bytes written over the previous copy (truncate, 1 MiB writes, fsync; no rename, no CRC).
    /// </summary>
    [Benchmark]
    public void RawWriteFsync()
    {
        using var fs = new FileStream(_rawFile, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        for (int off = 0; off < _rawBytes.Length; off += 1 << 20) fs.Write(_rawBytes, off, Math.Min(1 << 20, _rawBytes.Length - off));
        fs.Flush(flushToDisk: true);
    }
}

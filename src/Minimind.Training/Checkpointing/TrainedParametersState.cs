using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Kernels;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// A trained flat buffer and its AdamW moments as raw float32 files of a step folder: <c>model.f32</c>,
/// <c>adam_m.f32</c>, <c>adam_v.f32</c> for the run's trained model, the same names after <c>NAME_</c> for any
/// other (a PPO critic). The AdamW step of the trained model lives in the run's counters
/// (<see cref="TrainingState.AdamStep"/>); another component stores its own (<c>NAME_adam_step.bin</c>, 8 bytes).
/// </summary>
public sealed class TrainedParametersState : ICheckpointState
{
    private readonly IBackend _backend;
    private readonly string _prefix;
    private float[]? _w, _m, _v; // kept between asynchronous saves: three model-sized arrays per save would churn the GC

    /// <summary>The trained model's component (<c>model</c>, today's file names) or, with <paramref name="name"/>, another one's.</summary>
    public TrainedParametersState(IBackend backend, ParameterTable table, Tensor weights, AdamWState adam, string name = ModelName)
    {
        _backend = backend; Table = table; Weights = weights; Adam = adam; Name = name;
        _prefix = name == ModelName ? "" : name + "_";
    }

    /// <summary>The name of the run's trained model, whose files carry no prefix.</summary>
    public const string ModelName = "model";

    /// <summary>The AdamW step of a component other than the trained model (after its <c>NAME_</c> prefix).</summary>
    public const string AdamStepFile = "adam_step.bin";

    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>Layout of <see cref="Weights"/> (the keys of the exported <c>.pth</c>).</summary>
    public ParameterTable Table { get; }
    /// <summary>The trained buffer.</summary>
    public Tensor Weights { get; }
    /// <summary>Its optimizer.</summary>
    public AdamWState Adam { get; }

    /// <inheritdoc/>
    public long SnapshotBytes => 12 * Table.TotalElements + (_prefix.Length == 0 ? 0 : 8);

    /// <inheritdoc cref="ICheckpointState.Snapshot"/>
    public ParametersSnapshot Snapshot(long step)
    {
        long n = Table.TotalElements;
        var w = _w ??= new float[n]; var m = _m ??= new float[n]; var v = _v ??= new float[n];
        _backend.Download(Weights, w);
        _backend.Download(Adam.M, m);
        _backend.Download(Adam.V, v);
        // Never commit a state nobody could resume from.
        if (DivergenceGuard.NonFinite(w, m, v) is { } bad)
            throw new TrainingDivergedException($"refusing to save step {step}: {(_prefix.Length == 0 ? "" : Name + " ")}{bad}; the previous checkpoint stays the newest");
        var files = new List<ResumeFile>
        {
            new(_prefix + ResumeStateFolder.WeightsFile, s => s.Write(MemoryMarshal.AsBytes(w.AsSpan()))),
            new(_prefix + ResumeStateFolder.MomentFile, s => s.Write(MemoryMarshal.AsBytes(m.AsSpan()))),
            new(_prefix + ResumeStateFolder.SecondMomentFile, s => s.Write(MemoryMarshal.AsBytes(v.AsSpan()))),
        };
        long adamStep = Adam.Step;
        if (_prefix.Length > 0)
        {
            var step8 = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(step8, adamStep);
            files.Add(new ResumeFile(_prefix + AdamStepFile, s => s.Write(step8)));
        }
        return new ParametersSnapshot(Name, files, Table, w, m, v, adamStep, Adam);
    }

    CheckpointPart ICheckpointState.Snapshot(long step) => Snapshot(step);

    /// <inheritdoc/>
    public void ReleaseSnapshot() => _w = _m = _v = null;

    /// <inheritdoc/>
    public void LoadFrom(string folder)
    {
        var buf = new float[Table.TotalElements];
        Read(folder, ResumeStateFolder.WeightsFile, buf); _backend.Upload(Weights, buf);
        Read(folder, ResumeStateFolder.MomentFile, buf); _backend.Upload(Adam.M, buf);
        Read(folder, ResumeStateFolder.SecondMomentFile, buf); _backend.Upload(Adam.V, buf);
        if (_prefix.Length == 0) return; // the trained model's step is in the run's counters
        string path = Path.Combine(folder, _prefix + AdamStepFile);
        if (!File.Exists(path))
            throw new InvalidDataException($"cannot resume from {folder}: it holds no {_prefix + AdamStepFile} (the {Name} optimizer's step); it was written by another stage or build");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 8) throw new InvalidDataException($"{path}: {bytes.Length} bytes, expected 8 (an AdamW step)");
        Adam.Step = BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    private void Read(string folder, string file, float[] buf)
    {
        if (!File.Exists(Path.Combine(folder, _prefix + file)))
            throw new InvalidDataException($"cannot resume from {folder}: it holds no {_prefix + file} (the {Name} state of this stage); it was written by another stage or build");
        ResumeStateFolder.ReadFloats(folder, _prefix + file, buf);
    }
}

/// <summary>A <see cref="TrainedParametersState"/> copied to host memory at a step boundary (the exports read it); <see cref="AdamW"/> is read
/// only for its fixed hyper-parameters, the step is <see cref="AdamStep"/>.</summary>
public sealed record ParametersSnapshot(string Name, IReadOnlyList<ResumeFile> Files, ParameterTable Table, float[] Weights, float[] M, float[] V,
    long AdamStep, AdamWState AdamW) : CheckpointPart(Name, Files);

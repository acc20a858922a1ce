using Minimind.Checkpoint;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// MiniMind's layout (--export-minimind-resume, --minimind-root): its resume file <c>NAME_resume.pth</c> (trainer_utils.lm_checkpoint)
/// under <c>OUT/checkpoints/</c>, or under <c>ROOT/checkpoints/</c> with <c>ROOT/out/NAME.pth</c> (where its scripts read
/// --from_weight) and <c>ROOT/checkpoints/NAME.pth</c> (the copy lm_checkpoint keeps beside the resume file).
/// </summary>
public sealed class MinimindExport : ICheckpointExport
{
    private readonly RunPaths _paths;
    private readonly TrainOptions _o;
    private readonly long _parameters;

    /// <summary>The export of run <paramref name="paths"/> (<paramref name="parameters"/> trained values) under <paramref name="options"/>.</summary>
    public MinimindExport(RunPaths paths, TrainOptions options, long parameters) { _paths = paths; _o = options; _parameters = parameters; }

    /// <summary>The export a run's options ask for, or null.</summary>
    public static MinimindExport? For(RunPaths paths, TrainOptions o, long parameters) =>
        o.ExportMinimindResume || o.MinimindRoot is not null ? new MinimindExport(paths, o, parameters) : null;

    /// <summary>MiniMind's resume file: <see cref="RunPaths.MinimindResumePath"/>, or under --minimind-root's checkpoints/.</summary>
    public string ResumePath => _o.MinimindRoot is { } r ? Path.Combine(r, "checkpoints", _paths.RunName + "_resume.pth") : _paths.MinimindResumePath;

    // MiniMind's scripts read --from_weight from <root>/out, and lm_checkpoint keeps a copy beside the resume file.
    private IEnumerable<string> WeightCopies => _o.MinimindRoot is { } r
        ? new[] { "out", "checkpoints" }.Select(folder => Path.Combine(r, folder, _paths.RunName + ".pth"))
        : Array.Empty<string>();

    /// <inheritdoc/>
    public long EstimatedBytes
    {
        get
        {
            long elem = _o.SaveDtype.ElementSize();
            return _parameters * (8 + elem) + (_o.MinimindRoot is not null ? 2 * _parameters * elem : 0);
        }
    }

    /// <inheritdoc/>
    public void Write(CheckpointSnapshot snapshot, StateDict weights)
    {
        var s = snapshot.State;
        MinimindResumeFile.Write(ResumePath, snapshot.Model, s, _o.SaveDtype,
            LrSchedule.At(_o.Schedule, Math.Max(1, s.OptimizerStep), s.TotalSteps, _o.LearningRate), snapshot.Scaler, weights.Extras);
        foreach (var copy in WeightCopies)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            PthWriter.WriteStateDict(copy, weights);
        }
    }

    /// <inheritdoc/>
    public long WrittenBytes() => Len(ResumePath) + WeightCopies.Sum(Len);

    private static long Len(string p) => File.Exists(p) ? new FileInfo(p).Length : 0;
}

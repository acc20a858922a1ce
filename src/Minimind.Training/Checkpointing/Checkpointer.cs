using System.Diagnostics;
using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;
using Minimind.Model;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// Owns a run's checkpoints (torchtitan's checkpointer): <b>when</b> a step is saved (<see cref="IsDue"/>: every
/// --save-interval steps, at the end, on a stop signal, and after a save the divergence guard postponed), <b>what</b>
/// is written (the step folder of every <see cref="ICheckpointState"/> and the counters, the weights <c>.pth</c> with
/// its architecture record, the <see cref="ICheckpointExport"/>s, the loss plot), <b>where</b> (<see cref="Paths"/>)
/// and what is pruned.
/// <para>
/// A save is a <see cref="Snapshot"/> at the step boundary (host copies, vetted: nothing non-finite, and weights that
/// still give the next batch a finite, non-spiking loss) and a <see cref="Write"/> of that snapshot. The guarantees of
/// the write: the step folder's manifest is written last and the folder renamed into place (<see cref="ResumeStore.Commit"/>);
/// under mpirun every rank has reached the boundary (the barrier) before the manifest; the <c>.pth</c> is replaced only
/// after the folder is committed; pruning happens only after a commit and always keeps the newest good folder.
/// </para>
/// </summary>
public sealed class Checkpointer
{
    private readonly Trainer _run;
    private readonly TrainOptions _o;
    private readonly TextWriter _log;
    private readonly IReadOnlyList<ICheckpointExport> _exports;
    private bool _postponed;
    private long _lastSaveBytes;

    /// <summary>The checkpointer of <paramref name="run"/>, writing the exports its options ask for.</summary>
    public Checkpointer(Trainer run, TrainOptions options, TextWriter log)
    {
        _run = run; _o = options; _log = log;
        Paths = run.Paths;
        _exports = MinimindExport.For(Paths, options, run.Stage.Parameters.TotalElements) is { } mm ? new ICheckpointExport[] { mm } : Array.Empty<ICheckpointExport>();
    }

    /// <summary>Where the run's files go.</summary>
    public RunPaths Paths { get; }

    /// <summary>
    /// True when step <paramref name="step"/> is to be saved: every --save-interval steps, at the <paramref name="end"/>
    /// of the schedule, when a rank asked to <paramref name="stop"/>, and after a postponed save.
    /// </summary>
    public bool IsDue(long step, bool end, bool stop) => step % _o.SaveInterval == 0 || end || stop || _postponed;

    /// <summary>
    /// Saves the step just taken, unless <paramref name="guard"/> skipped its update: such weights already produced a bad
    /// step, so the save waits for the next good one (and the previous checkpoint stays the newest). Returns the step folder, or null when postponed.
    /// </summary>
    public string? SaveUnlessSkipped(DivergenceGuard guard)
    {
        _postponed = !guard.LastAccepted;
        if (!_postponed) return Save();
        _log.WriteLine($"step {_run.State.OptimizerStep}: checkpoint postponed (the update was skipped); the previous checkpoint stays the newest");
        return null;
    }

    /// <summary>
    /// Snapshots and writes the current step (see the class remarks); on ranks other than 0 only the snapshot's checks
    /// and the commit barrier. Throws <see cref="TrainingDivergedException"/> when the state is not one to commit.
    /// Returns the step folder.
    /// </summary>
    public string Save()
    {
        var sw = Stopwatch.StartNew();
        var snapshot = Snapshot();
        // Every rank reaches this boundary with the same verdict (the checks above see replicated state); only rank 0
        // holds files to write, and it writes the manifest only after the barrier at which every rank has arrived.
        if (!_run.Parallel.IsRoot) { _run.Parallel.Barrier(); return Paths.CheckpointRoot; }
        var dir = Write(snapshot);
        _log.WriteLine($"saved step {snapshot.Step}: weights {Paths.WeightsPath}, resume state {dir} ({sw.Elapsed.TotalSeconds:F2}s)");
        return dir;
    }

    /// <summary>
    /// Phase 1, at the step boundary: every component copied to host memory (the trained model first), then the counters
    /// with the resume check's value — the loss the saved weights give the next batch. Refuses (throws
    /// <see cref="TrainingDivergedException"/>) a non-finite copy, and weights that give the next batch a non-finite or
    /// spiking loss: they are past saving.
    /// </summary>
    public CheckpointSnapshot Snapshot()
    {
        var s = _run.State;
        var model = _run.ModelState.Snapshot(s.OptimizerStep);
        var others = _run.Stage.CheckpointStates.Select(c => c.Snapshot(s.OptimizerStep)).ToList();
        s.AdamStep = _run.Adam.Step;
        s.NextBatchLoss = _run.IsDone ? float.NaN : _run.NextBatchLoss();
        if (!_run.IsDone && (!float.IsFinite(s.NextBatchLoss) || _run.Guard?.IsSpike(s.NextBatchLoss) == true))
            throw new TrainingDivergedException($"refusing to save step {s.OptimizerStep}: its weights give the next batch a loss of {s.NextBatchLoss}" +
                $"{(float.IsFinite(s.NextBatchLoss) ? $" (a spike, --loss-spike {_o.LossSpike:G})" : "")}; the previous checkpoint stays the newest");
        return new CheckpointSnapshot(s.Clone(), model, others, _run.Scaler.ToStateDict());
    }

    /// <summary>
    /// Phase 2 (rank 0): checks the free space, commits the step folder (the other ranks' barrier before its manifest),
    /// then replaces the weights <c>.pth</c>, prunes (--keep-last, --keep-every; the newest good folder always stays),
    /// writes the exports and the plot. Returns the step folder. A failure (disk full) leaves the previous files as they were.
    /// </summary>
    public string Write(CheckpointSnapshot snapshot)
    {
        var states = _run.Stage.CheckpointStates.Prepend(_run.ModelState).ToList();
        Directory.CreateDirectory(_o.OutDir);
        SaveSpace.Check(_o, Paths, snapshot.Step, _lastSaveBytes, _run.Stage.Parameters.TotalElements, states, _exports);
        // The step folder first: a save that fails later (disk full) leaves the previous .pth untouched and a complete newer folder.
        var dir = ResumeStore.Commit(Paths.CheckpointRoot, snapshot.Step, snapshot.Files, _run.Parallel.Barrier);
        var weights = ArchitectureRecord.Attach(StateDictLoader.Export(snapshot.Model.Table, snapshot.Model.Weights, _o.SaveDtype), _run.Stage.Config, _o.TokenizerSpec);
        PthWriter.WriteStateDict(Paths.WeightsPath, weights);
        ResumeStore.Prune(Paths.CheckpointRoot, _o.KeepLast, _o.KeepEvery, knownGood: dir);
        foreach (var export in _exports) export.Write(snapshot, weights);
        if (_o.Plot) new LossPlot().Draw(snapshot.State.Losses).Save(Paths.PlotPath);
        _lastSaveBytes = SaveSpace.BytesOf(_o, Paths, dir, _exports);
        return dir;
    }
}

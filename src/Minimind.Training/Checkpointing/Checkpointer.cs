using System.Diagnostics;
using System.Globalization;
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
/// still give the next batch a finite, non-spiking loss), the commit barrier (every rank has taken its snapshot), and a
/// <see cref="Write"/> of that snapshot: on one background thread while training continues (--async-save, the
/// default), or before it continues (--async-save false). One save is in flight at most: the next one waits for it
/// (and says so) before reusing the snapshot buffers; a background write's failure stops the run at the next step
/// boundary (<see cref="CollectWrite"/>). The guarantees of the write: the step folder's manifest is written last and
/// the folder renamed into place (<see cref="ResumeStore.Commit"/>), after the barrier; the <c>.pth</c> is replaced only
/// after the folder is committed; pruning happens only after a commit and always keeps the newest good folder.
/// </para>
/// <para>
/// The resume check (the loss the saved weights give the next batch, recorded in <c>state.msgpack</c>) is the loss of
/// the next step's first micro-batch under the same weights. A background save the run continues past takes it from
/// that step's own forward (<see cref="TakeResumeCheck"/>, before the step's update, the same value on every rank)
/// instead of an extra forward at the snapshot: its files are written meanwhile, and its counters, manifest and rename
/// wait for that verdict. A refusal then ends the run at the saved step, as a refusal at the snapshot would. The last
/// save of a run and a synchronous save (--async-save false) compute it with a forward at the snapshot.
/// </para>
/// </summary>
public sealed class Checkpointer : IDisposable
{
    private readonly Trainer _run;
    private readonly TrainOptions _o;
    private readonly TextWriter _log;
    private readonly IReadOnlyList<ICheckpointExport> _exports;
    private bool _postponed;
    private long _lastSaveBytes; // written by Write only, one write at a time
    private SaveThread? _thread;
    private PendingSave? _pending;
    private PendingCheck? _check;

    /// <summary>A write handed to the background thread: its step and folder, what it cost training, its outcome.</summary>
    private sealed record PendingSave(long Step, string Folder, double BlockedSeconds, double WaitedSeconds, Task<double> Write)
    {
        /// <summary>What a background write writes (its wait for the resume check is not counted as writing).</summary>
        public CheckpointSnapshot? Snapshot { get; init; }
    }

    /// <summary>
    /// A save waiting for its resume check from the next step's forward: its step, the verdict its background write
    /// waits on before the counters and the manifest (rank 0; null on the other ranks, which write nothing), and
    /// <see cref="Trainer.StepsBegun"/> at the snapshot.
    /// </summary>
    private sealed record PendingCheck(long Step, TaskCompletionSource<float>? Verdict, long StepsBegun);

    /// <summary>The checkpointer of <paramref name="run"/>, writing the exports its options ask for.</summary>
    public Checkpointer(Trainer run, TrainOptions options, TextWriter log)
    {
        _run = run; _o = options; _log = log;
        Paths = run.Paths;
        _exports = (MinimindExport.For(Paths, options, run.Stage.Parameters.TotalElements) is { } mm ? new ICheckpointExport[] { mm } : Array.Empty<ICheckpointExport>())
            .Concat(run.Stage.Exports).ToList();
    }

    /// <summary>Where the run's files go.</summary>
    public RunPaths Paths { get; }

    /// <summary>Bytes of the host copy a save snapshots into (every component's files; kept between saves with --async-save).</summary>
    public long SnapshotBytes => _run.Stage.CheckpointStates.Prepend(_run.ModelState).Sum(s => s.SnapshotBytes);

    /// <summary>
    /// True when step <paramref name="step"/> is to be saved: every --save-interval steps, at the <paramref name="end"/>
    /// of the schedule, when a rank asked to <paramref name="stop"/>, and after a postponed save.
    /// </summary>
    public bool IsDue(long step, bool end, bool stop) => step % _o.SaveInterval == 0 || end || stop || _postponed;

    /// <summary>
    /// Saves the step just taken, unless <paramref name="guard"/> skipped its update: such weights already produced a bad
    /// step, so the save waits for the next good one (and the previous checkpoint stays the newest). The <paramref name="last"/>
    /// save of a run (its end, a stop) returns only once written. Returns the step folder, or null when postponed.
    /// </summary>
    public string? SaveUnlessSkipped(DivergenceGuard guard, TrainProgress? progress = null, bool last = false)
    {
        _postponed = !guard.LastAccepted;
        if (!_postponed) return Save(progress, wait: last);
        _log.WriteLine($"step {_run.State.OptimizerStep}: checkpoint postponed (the update was skipped); the previous checkpoint stays the newest");
        if (last) WaitForWrite(progress);
        return null;
    }

    /// <summary>
    /// Saves the current step (see the class remarks): waits for a write still in flight, snapshots, meets the other ranks
    /// at the commit barrier, then rank 0 writes — in the background with --async-save unless <paramref name="wait"/>.
    /// Throws <see cref="TrainingDivergedException"/> when the state is not one to commit, an IOException when the
    /// previous background write failed or (waiting) this one did. Returns the step folder (on other ranks the checkpoint root).
    /// </summary>
    public string Save(TrainProgress? progress = null, bool wait = true)
    {
        var blocked = Stopwatch.StartNew();
        double waited = WaitForWrite(progress);
        // A background save the run continues past takes its resume check from the next step's forward (class remarks);
        // a stage stepping its own optimizers (PPO) has no single forward before its updates, so it is checked here.
        bool deferCheck = _o.AsyncSave && !wait && !_run.IsDone && _run.Stage is not Stages.IOptimizingStage;
        var verdict = deferCheck && _run.Parallel.IsRoot ? new TaskCompletionSource<float>(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        var snapshot = Snapshot(verdict?.Task, checkNow: !deferCheck);
        if (deferCheck) _check = new PendingCheck(snapshot.Step, verdict, _run.StepsBegun);
        // The commit barrier: every rank has taken its snapshot, with the same verdict (the checks see replicated state).
        // Only rank 0 holds files to write; its manifest follows its own writes, so it follows every rank's arrival.
        _run.Parallel.Barrier();
        if (!_run.Parallel.IsRoot)
        {
            if (!_o.AsyncSave) ReleaseHostCopies();
            return Paths.CheckpointRoot;
        }
        string folder = Path.Combine(Paths.CheckpointRoot, ResumeStore.FolderName(snapshot.Step));
        if (!_o.AsyncSave)
        {
            var write = Stopwatch.StartNew();
            Write(snapshot);
            ReleaseHostCopies();
            Report(new PendingSave(snapshot.Step, folder, blocked.Elapsed.TotalSeconds, waited, Task.FromResult(write.Elapsed.TotalSeconds)), progress);
            return folder;
        }
        _thread ??= new SaveThread();
        _pending = new PendingSave(snapshot.Step, folder, blocked.Elapsed.TotalSeconds, waited, _thread.Run(() => Write(snapshot))) { Snapshot = snapshot };
        progress?.ClearLine();
        _log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {snapshot.Step}: checkpoint snapshot taken, training blocked {_pending.BlockedSeconds:F2}s" +
            $"{(waited > 0 ? $" ({waited:F2}s of it waiting for the previous write)" : "")}; writing it in the background ({SnapshotBytes / 1e6:F1} MB host copy)"));
        if (wait) WaitForWrite(progress);
        return folder;
    }

    /// <summary>
    /// At a step boundary: reports a background write that has ended (log line and metrics), or stops the run with its
    /// failure (an IOException naming the path; nothing saved before it was touched). A write still running is left alone.
    /// </summary>
    public void CollectWrite(TrainProgress? progress)
    {
        if (_pending is { Write.IsCompleted: true }) WaitForWrite(progress);
    }

    /// <summary>
    /// Waits for the write in flight, if any (saying so when training has to wait for it), and reports it as
    /// <see cref="CollectWrite"/> does. Returns the seconds waited.
    /// </summary>
    public double WaitForWrite(TrainProgress? progress)
    {
        if (_check is not null) CheckNowOrCallOff();
        if (_pending is not { } p) return 0;
        _pending = null;
        var sw = Stopwatch.StartNew();
        bool running = !p.Write.IsCompleted;
        if (running && p.Step != _run.State.OptimizerStep)
        {
            progress?.ClearLine();
            _log.WriteLine($"step {_run.State.OptimizerStep}: waiting for the checkpoint of step {p.Step}, still being written in the background (one save in flight at most)");
        }
        try { p.Write.Wait(); }
        catch (AggregateException e) when (e.InnerException is OperationCanceledException)
        {
            return 0; // a save its resume check refused: nothing was committed, and the refusal has been reported
        }
        catch (AggregateException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            var cause = e.InnerException!;
            throw new IOException($"the checkpoint of step {p.Step} failed in the background write: {cause.Message}; the run stops at step {_run.State.OptimizerStep}", cause);
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
        }
        Report(p, progress);
        return running ? sw.Elapsed.TotalSeconds : 0;
    }

    // The line and the metrics record of a written save: what it cost training (blocked: the wait for the previous
    // write, the snapshot, the barrier — and the write itself when synchronous) and how long the write took.
    private void Report(PendingSave p, TrainProgress? progress)
    {
        double writeS = p.Write.Result - (p.Snapshot?.ResumeCheckWaitSeconds ?? 0);
        progress?.ClearLine();
        string cost = _o.AsyncSave
            ? string.Create(CultureInfo.InvariantCulture, $"written in the background in {writeS:F2}s; training blocked {p.BlockedSeconds:F2}s")
            : string.Create(CultureInfo.InvariantCulture, $"{p.BlockedSeconds:F2}s");
        _log.WriteLine($"saved step {p.Step}: weights {Paths.WeightsPath}, resume state {p.Folder} ({cost})");
        progress?.Event("save", p.Step, new("path", p.Folder), new("async", _o.AsyncSave), new("blocked_s", p.BlockedSeconds),
            new("waited_s", p.WaitedSeconds), new("write_s", writeS));
    }

    private void ReleaseHostCopies()
    {
        foreach (var s in _run.Stage.CheckpointStates.Prepend(_run.ModelState)) s.ReleaseSnapshot();
    }

    /// <summary>
    /// Phase 1, at the step boundary: every component copied to host memory (the trained model first), then the counters
    /// with the resume check's value — the loss the saved weights give the next batch: computed now (<paramref name="checkNow"/>,
    /// a forward pass; none at the end of the schedule), or later by <see cref="TakeResumeCheck"/>, whose verdict
    /// <paramref name="resumeCheck"/> brings to the write of the counters. Refuses (throws <see cref="TrainingDivergedException"/>)
    /// a non-finite copy, and weights that give the next batch a non-finite or spiking loss: they are past saving.
    /// </summary>
    public CheckpointSnapshot Snapshot(Task<float>? resumeCheck = null, bool checkNow = true)
    {
        var s = _run.State;
        var model = _run.ModelState.Snapshot(s.OptimizerStep);
        var others = _run.Stage.CheckpointStates.Select(c => c.Snapshot(s.OptimizerStep)).ToList();
        s.AdamStep = _run.Adam.Step;
        s.NextBatchLoss = float.NaN;
        if (checkNow && !_run.IsDone)
        {
            float loss = _run.NextBatchLoss();
            if (Refusal(s.OptimizerStep, loss) is { } why) throw new TrainingDivergedException(why);
            s.NextBatchLoss = loss;
        }
        return new CheckpointSnapshot(s.Clone(), model, others, _run.Scaler.ToStateDict(), resumeCheck);
    }

    /// <summary>
    /// Gives a save awaiting its resume check (see the class remarks) the loss of the next step's first micro-batch,
    /// <paramref name="nextBatchLoss"/>: the write goes on to commit it, or — a non-finite or spiking loss — it is called
    /// off and <see cref="TrainingDivergedException"/> is thrown (on every rank: the value is the all-gathered one). Called
    /// by every step before its update; nothing to do when no save awaits.
    /// </summary>
    public void TakeResumeCheck(float nextBatchLoss)
    {
        if (_check is not { } c) return;
        _check = null;
        if (Refusal(c.Step, nextBatchLoss) is { } why)
        {
            c.Verdict?.SetCanceled();
            throw new TrainingDivergedException(why);
        }
        c.Verdict?.SetResult(nextBatchLoss);
    }

    // Why the weights of step `step`, which give the next batch `loss`, are not to be saved (null: they are).
    private string? Refusal(long step, float loss) =>
        float.IsFinite(loss) && _run.Guard?.IsSpike(loss) != true ? null
            : $"refusing to save step {step}: its weights give the next batch a loss of {loss}" +
              $"{(float.IsFinite(loss) ? $" (a spike, --loss-spike {_o.LossSpike:G})" : "")}; the previous checkpoint stays the newest";

    // A save still awaiting its resume check when the run waits for it without another step (an exception ended the run):
    // with no step begun since the snapshot the weights and the stage are as saved, so the check's forward runs now;
    // otherwise they may not be, and the save is called off rather than committed with a value it cannot vouch for.
    private void CheckNowOrCallOff()
    {
        var c = _check!;
        _check = null;
        if (c.Verdict is null) return;
        string? why = $"the checkpoint of step {c.Step} is not committed: a step began after its snapshot, so its resume check cannot be taken; the previous checkpoint stays the newest";
        float loss = float.NaN;
        if (_run.StepsBegun == c.StepsBegun)
        {
            try { loss = _run.NextBatchLoss(); why = Refusal(c.Step, loss); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                why = $"the checkpoint of step {c.Step} is not committed: its resume check failed ({e.Message}); the previous checkpoint stays the newest";
            }
        }
        if (why is null) { c.Verdict.SetResult(loss); return; }
        c.Verdict.SetCanceled();
        _log.WriteLine(why);
    }

    /// <summary>
    /// Phase 2 (rank 0, after the commit barrier; on the background thread with --async-save): checks the free space,
    /// commits the step folder, then replaces the weights <c>.pth</c>, prunes (--keep-last, --keep-every; the newest good
    /// folder always stays), writes the exports and the plot. Reads only <paramref name="snapshot"/> and the run's fixed
    /// configuration. Returns the step folder. A failure (disk full) leaves the previous files as they were.
    /// </summary>
    public string Write(CheckpointSnapshot snapshot)
    {
        var states = _run.Stage.CheckpointStates.Prepend(_run.ModelState).ToList();
        Directory.CreateDirectory(_o.OutDir);
        SaveSpace.Check(_o, Paths, snapshot.Step, _lastSaveBytes, _run.Stage.Parameters.TotalElements, states, _exports);
        // The step folder first: a save that fails later (disk full) leaves the previous .pth untouched and a complete newer folder.
        var dir = ResumeStore.Commit(Paths.CheckpointRoot, snapshot.Step, snapshot.Files);
        var weights = ArchitectureRecord.Attach(StateDictLoader.Export(snapshot.Model.Table, snapshot.Model.Weights, _o.SaveDtype), _run.Stage.Config, _o.TokenizerSpec);
        PthWriter.WriteStateDict(Paths.WeightsPath, weights);
        ResumeStore.Prune(Paths.CheckpointRoot, _o.KeepLast, _o.KeepEvery, knownGood: dir);
        foreach (var export in _exports) export.Write(snapshot, weights);
        if (_o.Plot) TrainingPlot.Save(Paths, snapshot.State, _o.PlotX, _log);
        _lastSaveBytes = SaveSpace.BytesOf(_o, Paths, dir, _exports);
        return dir;
    }

    /// <summary>
    /// Lets a write still in flight finish (a run left by an exception: the snapshot it writes was vetted) and ends the
    /// background thread (a later save starts another); a failure of that write is printed, not thrown.
    /// </summary>
    public void Dispose()
    {
        try { WaitForWrite(null); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _log.WriteLine("warning: " + e.Message); }
        _thread?.Dispose();
        _thread = null;
    }
}

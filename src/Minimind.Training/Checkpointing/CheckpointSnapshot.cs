using Minimind.Checkpoint;
using Minimind.Checkpoint.Resume;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// Everything one save writes, copied to host memory at an optimizer-step boundary (phase 1 of a save): the run's
/// counters, the trained model's buffers, each further component's part and the fp16 scaler. Writing it (phase 2)
/// reads nothing that training changes afterwards.
/// </summary>
public sealed class CheckpointSnapshot
{
    internal CheckpointSnapshot(TrainingState state, ParametersSnapshot model, IReadOnlyList<CheckpointPart> others, PickleDict scaler, Task<float>? resumeCheck = null)
    {
        State = state; Model = model; Others = others; Scaler = scaler;
        _resumeCheck = resumeCheck;
    }

    private readonly Task<float>? _resumeCheck;

    /// <summary>The step saved.</summary>
    public long Step => State.OptimizerStep;
    /// <summary>A copy of the run's counters (with the resume check's next-batch loss).</summary>
    public TrainingState State { get; }
    /// <summary>The trained model and its AdamW moments.</summary>
    public ParametersSnapshot Model { get; }
    /// <summary>The parts of the stage's own components, in order.</summary>
    public IReadOnlyList<CheckpointPart> Others { get; }
    /// <summary>The fp16 GradScaler's state_dict (empty when scaling is off).</summary>
    public PickleDict Scaler { get; }

    /// <summary>
    /// The step folder's files: the model's, the other components', then the counters (<c>state.msgpack</c>). When the
    /// resume check is still to come (see <see cref="Checkpointer"/>), writing the counters waits for its verdict, and a
    /// save called off throws <see cref="OperationCanceledException"/> there (the step folder is then never committed).
    /// </summary>
    public IReadOnlyList<ResumeFile> Files =>
        Model.Files.Concat(Others.SelectMany(p => p.Files)).Append(new ResumeFile(ResumeStateFolder.StateFile, WriteState)).ToList();

    // The counters, with the resume check's value once it is known (the copy in State belongs to this snapshot alone).
    private void WriteState(Stream s)
    {
        if (_resumeCheck is not null)
        {
            var wait = System.Diagnostics.Stopwatch.StartNew();
            State.NextBatchLoss = _resumeCheck.GetAwaiter().GetResult();
            ResumeCheckWaitSeconds = wait.Elapsed.TotalSeconds;
        }
        s.Write(State.Serialize());
    }

    /// <summary>How long writing the counters waited for the resume check (0 when it was known at the snapshot).</summary>
    public double ResumeCheckWaitSeconds { get; private set; }
}

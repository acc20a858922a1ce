using Minimind.Checkpoint.Resume;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// One piece of a run's resumable state that the <see cref="Checkpointer"/> saves into every step folder and the
/// <see cref="ResumeLoader"/> restores from it (torchtitan's <c>Stateful</c>): the trained buffer and its AdamW moments
/// (<see cref="TrainedParametersState"/>), and whatever a stage adds.
/// <para>
/// The extension point: a stage with more to resume — PPO's critic and its own AdamW, a second schedule, a rollout
/// RNG — returns one component per piece from <see cref="Stages.ITrainingStage.CheckpointStates"/>. The checkpointer
/// snapshots, vets, writes and loads each one in list order, after the trained model's and before the run's counters
/// (<c>state.msgpack</c>); neither the loop nor the checkpointer changes.
/// </para>
/// <para>
/// A save has two phases, kept apart so the second can run in the background: <see cref="Snapshot"/> runs at the
/// optimizer-step boundary while training waits (device → host copies into buffers the component owns, and the
/// check that the copy is worth committing); the <see cref="CheckpointPart.Files"/> it returns are then written
/// from that copy alone. A component reuses its host buffers at its next <see cref="Snapshot"/>, so a writer must
/// have finished with a part before the next snapshot is taken.
/// </para>
/// </summary>
public interface ICheckpointState
{
    /// <summary>Unique within a run; messages name it, and a component's file names start with it unless it is the trained model's.</summary>
    string Name { get; }

    /// <summary>Bytes its files take in a step folder (the free-space check before the first save).</summary>
    long SnapshotBytes { get; }

    /// <summary>
    /// Phase 1 of saving step <paramref name="step"/>: copies the component to host memory and returns its files.
    /// Throws <see cref="TrainingDivergedException"/> when the copy is a state nobody could resume from (a non-finite value):
    /// nothing is then written and the previous checkpoint stays the newest.
    /// </summary>
    CheckpointPart Snapshot(long step);

    /// <summary>Restores the component from <paramref name="folder"/>, a step folder of this run that has verified (checksums, architecture, data).</summary>
    void LoadFrom(string folder);
}

/// <summary>What one <see cref="ICheckpointState"/> contributes to a step folder: its files, written from host copies only.</summary>
public record CheckpointPart(string Name, IReadOnlyList<ResumeFile> Files);

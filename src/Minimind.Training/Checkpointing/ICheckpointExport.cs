using Minimind.Checkpoint;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// A file the <see cref="Checkpointer"/> writes beside a step folder for other programs to read (MiniMind's resume
/// file, copies where MiniMind's scripts look), from the same snapshot: only after the step folder has been committed
/// and the weights <c>.pth</c> replaced, never read back on resume. The checkpointer is given its exports.
/// </summary>
public interface ICheckpointExport
{
    /// <summary>Bytes it will need (the free-space check before the first save, when nothing exists to measure).</summary>
    long EstimatedBytes { get; }

    /// <summary>Writes it from <paramref name="snapshot"/>; <paramref name="weights"/> is the trained model's state dict as the
    /// weights <c>.pth</c> holds it (converted to --save-dtype, with its architecture record).</summary>
    void Write(CheckpointSnapshot snapshot, StateDict weights);

    /// <summary>Bytes its files occupy now (the next save's free-space estimate).</summary>
    long WrittenBytes();
}

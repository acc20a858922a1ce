using System.Runtime.InteropServices;
using Minimind.Checkpoint.Resume;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// The files of one resume-state folder (<c>step_NNNNNN/</c>): the trained flat buffer, the two AdamW
/// moments (raw float32, <see cref="TrainedParametersState"/>), any stage's own components and the run's counters
/// <c>state.msgpack</c>, committed by the <see cref="Checkpointer"/> through <see cref="ResumeStore"/>.
/// </summary>
public static class ResumeStateFolder
{
    /// <summary>File names inside a resume-state folder.</summary>
    public const string WeightsFile = "model.f32", MomentFile = "adam_m.f32", SecondMomentFile = "adam_v.f32", StateFile = "state.msgpack";

    /// <summary>Verifies <paramref name="dir"/> and reads its state record (the buffers are read by <see cref="ReadFloats"/>).</summary>
    public static TrainingState ReadState(string dir)
    {
        var problem = ResumeStore.Verify(dir, out _);
        if (problem is not null) throw new InvalidDataException($"cannot resume from {dir}: {problem}");
        string path = Path.Combine(dir, StateFile);
        return TrainingState.Deserialize(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads the raw float32 file <paramref name="name"/> of <paramref name="dir"/> into <paramref name="dest"/> (its length must match).</summary>
    public static void ReadFloats(string dir, string name, float[] dest)
    {
        string path = Path.Combine(dir, name);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        if (fs.Length != (long)dest.Length * 4) throw new InvalidDataException($"{path} holds {fs.Length} bytes, the model needs {(long)dest.Length * 4}");
        fs.ReadExactly(MemoryMarshal.AsBytes(dest.AsSpan()));
    }
}

using System.Buffers.Binary;
using Minimind.Checkpoint.Resume;
using Minimind.Model.Data;
using Minimind.Training.Checkpointing;

namespace Minimind.Training.Rl;

/// <summary>
/// The random state of an RL stage's rollouts, saved in every step folder (<c>rollout_rng.bin</c>, 8 bytes) so a
/// resumed run samples the same completions as the uninterrupted one.
/// The state is the run's rollout key and never advances; each prompt's seed is derived from it and the prompt's place
/// in the data order (<see cref="PromptSeed"/>: epoch and global sample index), and each of its sequences' samplers from
/// that seed and the sequence's index (<see cref="SeedOf"/>). A prompt's rollouts thus depend neither on which rank
/// samples them nor on how many micro-batches a step or a rank takes: W = 1 and W = 2 sample the same completions
/// (grpo, agent and ppo).
/// A batch's samples do not depend on the order the engine steps its sequences in.
/// </summary>
public sealed class RolloutRng : ICheckpointState
{
    /// <summary>The file in a step folder.</summary>
    public const string FileName = "rollout_rng.bin";

    private ulong _state;

    /// <summary>The rollout key of a run with <c>--seed</c> <paramref name="seed"/>.</summary>
    public RolloutRng(long seed) { _state = unchecked((ulong)seed ^ 0x726F6C6C6F757473UL); } // "rollouts"

    /// <summary>The key (what a checkpoint stores).</summary>
    public ulong State => _state;

    /// <summary>
    /// The seed of the prompt at <paramref name="sampleIndex"/> of epoch <paramref name="epoch"/>'s data order (see
    /// <see cref="Stages.BatchPlace.SampleIndex"/>), from the rollout key; its sequences draw from <see cref="SeedOf"/>(it, k).
    /// </summary>
    public ulong PromptSeed(int epoch, long sampleIndex)
    {
        ulong s = _state ^ (0xD1B54A32D192ED03UL * (ulong)(epoch + 1L));
        s = SplitMix64.Step(ref s) ^ (0x9E3779B97F4A7C15UL * (ulong)(sampleIndex + 1));
        return SplitMix64.Step(ref s);
    }

    /// <summary>The sampler state of sequence <paramref name="index"/> of the prompt or batch whose seed is <paramref name="batch"/>.</summary>
    public static ulong SeedOf(ulong batch, int index)
    {
        ulong s = batch ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1));
        return SplitMix64.Step(ref s);
    }

    /// <inheritdoc/>
    public string Name => "rollout_rng";

    /// <inheritdoc/>
    public long SnapshotBytes => 8;

    /// <inheritdoc/>
    public CheckpointPart Snapshot(long step)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, _state);
        return new CheckpointPart(Name, new[] { new ResumeFile(FileName, s => s.Write(bytes)) });
    }

    /// <inheritdoc/>
    public void LoadFrom(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"cannot resume from {folder}: it holds no {FileName} (the rollout random state of an RL stage); it was written by another stage or build");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 8) throw new InvalidDataException($"{path}: {bytes.Length} bytes, expected 8 (a rollout random state)");
        _state = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }
}

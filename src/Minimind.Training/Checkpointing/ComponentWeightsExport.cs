using Minimind.Checkpoint;
using Minimind.Model;

namespace Minimind.Training.Checkpointing;

/// <summary>
/// The weights of a stage's own component (PPO's critic: <c>ppo_critic_&lt;dim&gt;.pth</c>) as a PyTorch state dict beside
/// the trained model's, from the same snapshot, at --save-dtype and with the architecture record: written after the step
/// folder is committed, replaced whole (never half-written), never read back on resume (the step folder is).
/// </summary>
public sealed class ComponentWeightsExport : ICheckpointExport
{
    private readonly string _component;
    private readonly ModelConfig _config;
    private readonly TrainOptions _o;
    private readonly long _parameters;

    /// <summary>Writes the part named <paramref name="component"/> (a <see cref="TrainedParametersState"/>) to <paramref name="path"/>.</summary>
    public ComponentWeightsExport(string path, string component, ModelConfig config, TrainOptions options, long parameters)
    {
        Path = path; _component = component; _config = config; _o = options; _parameters = parameters;
    }

    /// <summary>The <c>.pth</c> written.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public long EstimatedBytes => _parameters * _o.SaveDtype.ElementSize();

    /// <inheritdoc/>
    public void Write(CheckpointSnapshot snapshot, StateDict weights)
    {
        var part = snapshot.Others.OfType<ParametersSnapshot>().FirstOrDefault(p => p.Name == _component)
            ?? throw new InvalidOperationException($"the checkpoint holds no '{_component}' parameters to write to {Path}");
        var sd = ArchitectureRecord.Attach(StateDictLoader.Export(part.Table, part.Weights, _o.SaveDtype), _config, _o.TokenizerSpec);
        PthWriter.WriteStateDict(Path, sd);
    }

    /// <inheritdoc/>
    public long WrittenBytes() => File.Exists(Path) ? new FileInfo(Path).Length : 0;
}

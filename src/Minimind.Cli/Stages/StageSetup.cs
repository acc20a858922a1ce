using Minimind.Cli.Commands;
using Minimind.Model.Lora;
using Minimind.Training.Stages;

namespace Minimind.Cli.Stages;

/// <summary>
/// A stage built by its <see cref="StageRecipe"/>, owning what the stage adds or keeps frozen (LoRA adapters, the
/// distillation teacher, the DPO reference); they are loaded on every start, resumed or not, since a checkpoint holds only the trained buffer.
/// </summary>
public sealed class StageSetup : IDisposable
{
    private readonly IDisposable? _frozen;

    /// <summary>The <paramref name="stage"/>, its attached <paramref name="lora"/> adapters and a <paramref name="frozen"/> model it owns.</summary>
    public StageSetup(ITrainingStage stage, LoraAdapters? lora = null, IDisposable? frozen = null) { Stage = stage; Lora = lora; _frozen = frozen; }

    /// <summary>The stage the trainer runs.</summary>
    public ITrainingStage Stage { get; }
    /// <summary>The adapters of a LoRA stage (attached to the model), else null.</summary>
    public LoraAdapters? Lora { get; }

    /// <summary>
    /// A frozen model (DPO reference, distillation teacher) is reloaded from its file on every start, never checkpointed:
    /// its file's hash joins the run's signature, so a resume against a changed file is refused.
    /// </summary>
    public static string FrozenModelId(string path) => "sha256:" + FileHashes.Sha256(path);

    /// <inheritdoc/>
    public void Dispose()
    {
        Lora?.Dispose();
        _frozen?.Dispose();
    }
}

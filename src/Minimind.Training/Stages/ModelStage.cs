using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;

namespace Minimind.Training.Stages;

/// <summary>
/// What every stage over one trained <see cref="MiniMindModel"/> and row data shares: by default the whole
/// model is trained, batches are one row per sample, and the loss is the model's masked CE (+ MoE aux).
/// Stages override the buffer they train and their loss.
/// </summary>
public abstract class ModelStage : ITrainingStage, IAuxLossSource
{
    /// <summary>The trained (policy / student) model.</summary>
    protected ILanguageModel Model { get; }
    /// <summary>The rows.</summary>
    protected IPretrainSource Data { get; }

    /// <summary>A stage over <paramref name="model"/> and <paramref name="data"/>.</summary>
    protected ModelStage(ILanguageModel model, IPretrainSource data) { Model = model; Data = data; }

    /// <inheritdoc/>
    public abstract string Name { get; }
    /// <inheritdoc/>
    public ModelConfig Config => Model.Config;
    /// <inheritdoc/>
    public IBackend Backend => Model.Backend;
    /// <inheritdoc/>
    public virtual ParameterTable Parameters => Model.Parameters;
    /// <inheritdoc/>
    public virtual Tensor Weights => Model.Weights;
    /// <inheritdoc/>
    public virtual Tensor Gradients => Model.Gradients;
    /// <inheritdoc/>
    public virtual long Count => Data.Count;
    /// <inheritdoc/>
    public int SeqLen => Data.SeqLen;
    /// <inheritdoc/>
    public virtual IReadOnlyList<KeyValuePair<string, string>> Signature { get; } = Array.Empty<KeyValuePair<string, string>>();

    /// <inheritdoc/>
    public virtual Batch CreateBatch(ReadOnlySpan<int> samples) => StageBatches.Rows(Data, samples);

    /// <inheritdoc/>
    public virtual float ForwardBackward(Batch batch, float lossScale) => Model.ForwardBackward(batch, lossScale);

    /// <inheritdoc/>
    public virtual float ForwardLoss(Batch batch) => Model.ForwardLoss(batch);

    /// <inheritdoc/>
    public float LastAuxLoss => (Model as IAuxLossSource)?.LastAuxLoss ?? 0;
}

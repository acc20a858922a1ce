using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model.Data;

namespace Minimind.Model.Training.Stages;

/// <summary>
/// Next-token cross-entropy on every weight of the model: pretraining (<c>train_pretrain.py</c>) and full SFT
/// (<c>train_full_sft.py</c>). Both reduce as MiniMind's model does — the mean CE over the micro-batch's
/// non-ignored targets plus the MoE aux loss, scaled by 1/accumulation — so they differ only in the data
/// (SFT targets are −100 outside the assistant spans) and the recipe defaults.
/// </summary>
public sealed class LanguageModelStage : ITrainingStage, IAuxLossSource
{
    private readonly ILanguageModel _model;
    private readonly IPretrainSource _data;

    /// <summary>A stage named <paramref name="name"/> training every weight of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public LanguageModelStage(string name, ILanguageModel model, IPretrainSource data)
    {
        Name = name; _model = model; _data = data;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <inheritdoc/>
    public ModelConfig Config => _model.Config;
    /// <inheritdoc/>
    public IBackend Backend => _model.Backend;
    /// <inheritdoc/>
    public ParameterTable Parameters => _model.Parameters;
    /// <inheritdoc/>
    public Tensor Weights => _model.Weights;
    /// <inheritdoc/>
    public Tensor Gradients => _model.Gradients;
    /// <inheritdoc/>
    public long Count => _data.Count;
    /// <inheritdoc/>
    public int SeqLen => _data.SeqLen;
    /// <inheritdoc/>
    public IReadOnlyList<KeyValuePair<string, string>> Signature { get; } = Array.Empty<KeyValuePair<string, string>>();

    /// <inheritdoc/>
    public Batch CreateBatch(ReadOnlySpan<int> samples) => StageBatches.Rows(_data, samples);

    /// <inheritdoc/>
    public float ForwardBackward(Batch batch, float lossScale) => _model.ForwardBackward(batch, lossScale);

    /// <inheritdoc/>
    public float ForwardLoss(Batch batch) => _model.ForwardLoss(batch);

    /// <inheritdoc/>
    public float LastAuxLoss => (_model as IAuxLossSource)?.LastAuxLoss ?? 0;
}

using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Model.Data;
using Minimind.Model.Lora;

namespace Minimind.Training.Stages;

/// <summary>
/// MiniMind's <c>train_lora.py</c>: the SFT loss (mean CE over label tokens + MoE aux) with the base model
/// frozen; only the <see cref="LoraAdapters"/> are clipped, stepped by AdamW, checkpointed and saved
/// (<c>{lora_name}_{dim}.pth</c> holding only <c>*.lora.A/B.weight</c>, as its save_lora).
/// </summary>
public sealed class LoraStage : ModelStage
{
    private readonly LoraAdapters _lora;

    /// <summary>Trains <paramref name="lora"/> (attached to <paramref name="model"/>) on <paramref name="data"/>.</summary>
    public LoraStage(MiniMindModel model, LoraAdapters lora, IPretrainSource data) : base(model, data)
    {
        _lora = lora;
        model.FrozenWeights = true;   // train_lora.py sets requires_grad = False on every base parameter
        Signature = new KeyValuePair<string, string>[] { new("stage", "lora"), new("lora-rank", lora.Rank.ToString(CultureInfo.InvariantCulture)) };
    }

    /// <inheritdoc/>
    public override string Name => "lora";
    /// <inheritdoc/>
    public override ParameterTable Parameters => _lora.Table;
    /// <inheritdoc/>
    public override Tensor Weights => _lora.Weights;
    /// <inheritdoc/>
    public override Tensor Gradients => _lora.Gradients;
    /// <inheritdoc/>
    public override IReadOnlyList<KeyValuePair<string, string>> Signature { get; }

    /// <inheritdoc/>
    public override float ForwardBackward(Batch batch, float lossScale)
    {
        // The base model's own gradients are never applied (only its norms' still accumulate); zeroed so they never grow without bound.
        Backend.Fill(Model.Gradients, 0f);
        return Model.ForwardBackward(batch, lossScale);
    }
}

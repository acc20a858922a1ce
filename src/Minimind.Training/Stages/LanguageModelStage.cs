using Minimind.Model;
using Minimind.Model.Data;

namespace Minimind.Training.Stages;

/// <summary>
/// Next-token cross-entropy on every weight of the model: pretraining (<c>train_pretrain.py</c>) and full SFT
/// (<c>train_full_sft.py</c>). Both reduce as MiniMind's model does — the mean CE over the micro-batch's
/// non-ignored targets plus the MoE aux loss, scaled by 1/accumulation — so they differ only in the data
/// (SFT targets are −100 outside the assistant spans) and the recipe defaults.
/// </summary>
public sealed class LanguageModelStage : ModelStage
{
    /// <summary>A stage named <paramref name="name"/> training every weight of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public LanguageModelStage(string name, ILanguageModel model, IPretrainSource data) : base(model, data) => Name = name;

    /// <inheritdoc/>
    public override string Name { get; }
}

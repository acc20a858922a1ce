using Minimind.Checkpoint;
using Minimind.Kernels;

namespace Minimind.Model;

/// <summary>What the trainer, evaluator and generator need from a MiniMind model.</summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>The architecture.</summary>
    ModelConfig Config { get; }
    /// <summary>The backend holding the buffers.</summary>
    IBackend Backend { get; }
    /// <summary>State-dict layout of <see cref="Weights"/> and <see cref="Gradients"/>.</summary>
    ParameterTable Parameters { get; }
    /// <summary>All parameters, one flat float32 buffer laid out by <see cref="Parameters"/>.</summary>
    Tensor Weights { get; }
    /// <summary>Gradients, same layout as <see cref="Weights"/>; the model adds into them (empty for a forward-only model).</summary>
    Tensor Gradients { get; }

    /// <summary>
    /// Forward and backward over one micro-batch. The loss is Σ mask·CE / Σ mask (+ the MoE aux loss);
    /// adds lossScale·∂loss/∂θ into <see cref="Gradients"/> (lossScale = 1/accumulation steps).
    /// Returns the loss (unscaled, aux included).
    /// </summary>
    float ForwardBackward(Batch batch, float lossScale);

    /// <summary>Forward only; returns the same loss as <see cref="ForwardBackward"/> would.</summary>
    float ForwardLoss(Batch batch);
}

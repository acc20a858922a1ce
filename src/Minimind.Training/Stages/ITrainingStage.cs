using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model;
using Minimind.Training.Checkpointing;

namespace Minimind.Training.Stages;

/// <summary>
/// What one MiniMind training stage (pretrain, SFT, LoRA, DPO, distillation) supplies to the one
/// <see cref="TrainLoop"/>: its samples, its loss (forward + manual backward), the flat buffer it trains and
/// whatever else it must resume (<see cref="CheckpointStates"/>). The loop owns everything else: order,
/// accumulation, clipping, AdamW, checkpoints, exact resume, signals, metrics and progress.
/// </summary>
public interface ITrainingStage
{
    /// <summary>The stage's name as <c>--stage</c> spells it ("pretrain", "sft", "lora", "dpo", "distill").</summary>
    string Name { get; }
    /// <summary>Architecture of the trained model (file names, resume checks).</summary>
    ModelConfig Config { get; }
    /// <summary>Backend holding <see cref="Weights"/> and <see cref="Gradients"/>.</summary>
    IBackend Backend { get; }
    /// <summary>Layout of <see cref="Weights"/>: the keys of the saved <c>.pth</c> (the whole model, or only LoRA adapters).</summary>
    ParameterTable Parameters { get; }
    /// <summary>The parameters AdamW updates, one flat float32 buffer laid out by <see cref="Parameters"/>.</summary>
    Tensor Weights { get; }
    /// <summary>Gradients of <see cref="Weights"/>; <see cref="ForwardBackward"/> adds into them.</summary>
    Tensor Gradients { get; }
    /// <summary>Number of samples (a DPO sample is one chosen/rejected pair).</summary>
    long Count { get; }
    /// <summary>Tokens per batch row.</summary>
    int SeqLen { get; }
    /// <summary>Stage-specific fields stored in every resume state and compared on resume (empty for pretraining).</summary>
    IReadOnlyList<KeyValuePair<string, string>> Signature { get; }

    /// <summary>A micro-batch holding <paramref name="samples"/> in order.</summary>
    Batch CreateBatch(ReadOnlySpan<int> samples);

    /// <summary>
    /// The micro-batch at <paramref name="place"/> of the run's data order, holding <paramref name="samples"/> in order
    /// (what the trainer trains on). A stage whose batches depend on their place (the RL stages seed each prompt's
    /// rollouts from it) overrides this; the others ignore the place.
    /// </summary>
    Batch CreateBatch(ReadOnlySpan<int> samples, BatchPlace place) => CreateBatch(samples);

    /// <summary>Loss of <paramref name="batch"/>; adds lossScale·∂loss/∂θ into <see cref="Gradients"/>. Returns the unscaled loss.</summary>
    float ForwardBackward(Batch batch, float lossScale);

    /// <summary>Forward only: the loss <see cref="ForwardBackward"/> would return.</summary>
    float ForwardLoss(Batch batch);

    /// <summary>
    /// What the stage adds to every checkpoint besides its trained buffer and that buffer's AdamW moments (which the
    /// trainer saves itself): one <see cref="ICheckpointState"/> per piece, e.g. PPO's critic with its own AdamW. None
    /// for the built-in stages (a frozen reference or teacher is reloaded from its file, its hash in <see cref="Signature"/>).
    /// </summary>
    IReadOnlyList<ICheckpointState> CheckpointStates => Array.Empty<ICheckpointState>();

    /// <summary>Files the stage adds to every save besides the trained model's <c>.pth</c> (PPO's critic <c>.pth</c>), written after the step folder is committed.</summary>
    IReadOnlyList<ICheckpointExport> Exports => Array.Empty<ICheckpointExport>();
}

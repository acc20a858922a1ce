using Minimind.Model;
using Minimind.Training.Stages;

namespace Minimind.Training;

/// <summary>
/// This rank's micro-batches of one optimizer step, run on the stage leaf by leaf as the gradient tree asks
/// (<see cref="ForwardBackward"/>), with the MoE aux loss of each summed for the progress line.
/// </summary>
internal sealed class MicroBatches
{
    private readonly ITrainingStage _stage;
    private readonly List<Batch> _batches = new();
    private double _auxSum;
    private int _computed;

    public MicroBatches(ITrainingStage stage) { _stage = stage; ForwardBackward = Run; }

    /// <summary>The loss scale of the step's backward (fp16 scale / G).</summary>
    public float LossScale { get; set; }

    /// <summary>Forward and backward of micro-batch i (adding its scaled gradient); returns its loss.</summary>
    public Func<int, float> ForwardBackward { get; }

    /// <summary>Mean aux loss over the micro-batches run since <see cref="Clear"/> (0 for none, or a dense model).</summary>
    public float MeanAuxLoss => _computed > 0 ? (float)(_auxSum / _computed) : 0f;

    public void Clear() { _batches.Clear(); _auxSum = 0; _computed = 0; }

    public void Add(Batch b) => _batches.Add(b);

    /// <summary>This rank's micro-batches of the step, in order.</summary>
    public IReadOnlyList<Batch> Batches => _batches;

    /// <summary>This rank's i-th micro-batch of the step.</summary>
    public Batch this[int i] => _batches[i];

    private float Run(int i)
    {
        float loss = _stage.ForwardBackward(_batches[i], LossScale);
        _auxSum += (_stage as IAuxLossSource)?.LastAuxLoss ?? 0;
        _computed++;
        return loss;
    }
}

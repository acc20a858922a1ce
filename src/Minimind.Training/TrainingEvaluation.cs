using Minimind.Model;
using Minimind.Model.Chat;
using Minimind.Model.Evaluation;
using Minimind.Model.Tokenizer;

namespace Minimind.Training;

/// <summary>The greedy samples of a run (<c>--sample-prompts</c>): the prompts, how to read and answer them, and how long the answers may be.</summary>
/// <param name="Prompts">The prompts, in file order.</param>
/// <param name="Tokenizer">The run's tokenizer (continuations of bos + prompt).</param>
/// <param name="Chat">The chat format for stages trained on replies (answers through the chat template), else null.</param>
/// <param name="MaxNewTokens">Tokens generated per prompt at most.</param>
public sealed record SampleSet(IReadOnlyList<string> Prompts, ITokenizer Tokenizer, ChatFormat? Chat, int MaxNewTokens);

/// <summary>
/// What a run evaluates while it trains, as llm.c and torchtitan do: the loss on fixed held-out rows every
/// <see cref="EvalInterval"/> steps (<see cref="HeldOutLoss"/>; under mpirun every rank scores its share and the rows' sums are
/// added in row order, so W = 1 and W = 2 give the same bits) and greedy samples every <see cref="SampleInterval"/> steps (rank 0).
/// Both run only forwards at an optimizer-step boundary, after the update, so the trained bits are those of a run without them:
/// the next step recomputes every activation, and nothing they do feeds the weights, the optimizer or the data order.
/// They are due at a multiple of their interval and at the run's last step; a resumed run recomputes them for the steps it
/// retakes (the metrics log and TensorBoard keep each step once).
/// </summary>
public sealed class TrainingEvaluation
{
    private readonly MiniMindModel _model;

    /// <summary>Evaluates <paramref name="model"/> (the trained model, LoRA adapters attached) on <paramref name="heldOut"/>
    /// and/or <paramref name="samples"/>; an interval of 0 is never due.</summary>
    public TrainingEvaluation(MiniMindModel model, HeldOutLoss? heldOut, int evalInterval, SampleSet? samples, int sampleInterval)
    {
        if (heldOut is not null && evalInterval < 1) throw new ArgumentException("--eval-interval must be at least 1");
        if (samples is not null && sampleInterval < 1) throw new ArgumentException("--sample-interval must be at least 1");
        _model = model; HeldOut = heldOut; EvalInterval = evalInterval; Samples = samples; SampleInterval = sampleInterval;
    }

    /// <summary>The held-out rows, or null.</summary>
    public HeldOutLoss? HeldOut { get; }
    /// <summary>Steps between validations.</summary>
    public int EvalInterval { get; }
    /// <summary>The sample prompts, or null.</summary>
    public SampleSet? Samples { get; }
    /// <summary>Steps between samples.</summary>
    public int SampleInterval { get; }

    /// <summary>
    /// After step <paramref name="step"/> (<paramref name="last"/>: the run's last): the validation loss when due (every rank must
    /// call this: the rows are split over them; recorded in <paramref name="state"/>) and the samples when due (<paramref name="root"/> alone),
    /// reported to <paramref name="progress"/>.
    /// </summary>
    public void AfterStep(TrainingState state, long step, bool last, Kernels.Distributed.ICommunicator comm, bool root, TrainProgress? progress)
    {
        if (HeldOut is not null && (step % EvalInterval == 0 || last))
        {
            var r = HeldOut.Evaluate(_model, comm);
            state.ValLosses.Add((step, r.Loss)); // for the loss plot, kept across resumes
            progress?.Validation(step, r);
        }
        if (root && Samples is { } s && (step % SampleInterval == 0 || last))
            progress?.Samples(step, GreedySamples.Generate(_model, s.Tokenizer, s.Prompts, s.MaxNewTokens, s.Chat));
    }
}

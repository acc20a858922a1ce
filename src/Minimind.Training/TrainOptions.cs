using Minimind.Checkpoint;
using Minimind.Kernels;

namespace Minimind.Training;

/// <summary>
/// The pretraining recipe's knobs (MiniMind's train_pretrain.py defaults). "Step" always means an
/// optimizer step: --save-interval, --log-interval and --max-steps count them.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Rows per micro-batch.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Peak learning rate of the cosine schedule.</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Micro-batches summed per optimizer step.</summary>
    public int AccumulationSteps { get; init; } = 8;
    /// <summary>Gradient-norm clip (0 disables).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Optimizer steps between log lines.</summary>
    public int LogInterval { get; init; } = 100;
    /// <summary>Optimizer steps between saves.</summary>
    public int SaveInterval { get; init; } = 1000;
    /// <summary>Cap on optimizer steps in total, across resumes (also the schedule length when smaller).</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Output folder (weights, checkpoints/, metrics, plot).</summary>
    public string OutDir { get; init; } = "out";
    /// <summary>Weight file prefix (MiniMind's --save_weight).</summary>
    public string SaveWeight { get; init; } = "pretrain";
    /// <summary>Run seed (model init and data order).</summary>
    public long Seed { get; init; } = 42;
    /// <summary>Resume-state folders kept.</summary>
    public int KeepLast { get; init; } = 3;
    /// <summary>dtype of the saved <c>.pth</c> weights (MiniMind saves float16).</summary>
    public TorchDType SaveDtype { get; init; } = TorchDType.F16;
    /// <summary>Also write MiniMind's own <c>*_resume.pth</c> at every save.</summary>
    public bool ExportMinimindResume { get; init; }
    /// <summary>Write the training chart (PNG and SVG) at every save.</summary>
    public bool Plot { get; init; }
    /// <summary>x axis of the --plot chart (--plot-x).</summary>
    public PlotAxis PlotX { get; init; } = PlotAxis.Step;
    /// <summary>Autocast precision of matmuls and attention (--dtype); fp16 also turns on <see cref="GradScaler"/>.</summary>
    public Precision Dtype { get; init; } = Precision.Fp32;
    /// <summary>Step folders whose step is a multiple of this are never pruned (0 = none pinned).</summary>
    public int KeepEvery { get; init; }
    /// <summary>Consecutive skipped (non-finite) updates that stop the run.</summary>
    public int MaxBadSteps { get; init; } = DivergenceGuard.DefaultMaxBadSteps;
    /// <summary>Loss-spike factor over the recent median that stops the run (0 = off).</summary>
    public double LossSpike { get; init; } = DivergenceGuard.DefaultSpikeFactor;
    /// <summary>MiniMind's project root: also write its layout (checkpoints/NAME_resume.pth, checkpoints/NAME.pth, out/NAME.pth) there.</summary>
    public string? MinimindRoot { get; init; }
    /// <summary>The tokenizer the run uses (<c>byte</c> or a tokenizer path), recorded inside the weight files.</summary>
    public string? TokenizerSpec { get; init; }
    /// <summary>Check the free space before each save (on by default).</summary>
    public bool CheckFreeSpace { get; init; } = true;
    /// <summary>Folder for TensorBoard event files (scalars per logged step); null = none.</summary>
    public string? TensorBoardDir { get; init; }
    /// <summary>Continue a resumed run on data other than its checkpoint's (same sample count and row length), deliberately.</summary>
    public bool AllowDataChange { get; init; }
    /// <summary>Settings that shape the rows (SFT overflow and augmentation ratios): they join the run's signature, so a resume
    /// with other values is refused naming them.</summary>
    public SignatureFields DataSignature { get; init; } = SignatureFields.None;
    /// <summary>Write checkpoints on a background thread from a host snapshot while training continues (--async-save, on by default).</summary>
    public bool AsyncSave { get; init; } = true;
    /// <summary>AdamW weight decay (torch default).</summary>
    public float WeightDecay { get; init; } = 0.01f;
    /// <summary>The learning-rate schedule (the stage's MiniMind script's).</summary>
    public LrScheduleKind Schedule { get; init; } = LrScheduleKind.MiniMindCosine;

    /// <summary>Throws an ArgumentException naming the flag of the first invalid value.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException("--epochs must be at least 1");
        if (BatchSize < 1) throw new ArgumentException("--batch-size must be at least 1");
        if (AccumulationSteps < 1) throw new ArgumentException("--accumulation-steps must be at least 1");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException("--learning-rate must be a positive number");
        if (GradClip < 0 || !double.IsFinite(GradClip)) throw new ArgumentException("--grad-clip must be 0 (off) or positive");
        if (LogInterval < 1) throw new ArgumentException("--log-interval must be at least 1");
        if (SaveInterval < 1) throw new ArgumentException("--save-interval must be at least 1");
        if (MaxSteps is < 1) throw new ArgumentException("--max-steps must be at least 1");
        if (KeepLast < 1) throw new ArgumentException("--keep-last must be at least 1");
        if (KeepEvery < 0) throw new ArgumentException("--keep-every must be 0 (off) or positive");
        if (MaxBadSteps < 1) throw new ArgumentException("--max-bad-steps must be at least 1");
        if (LossSpike < 0 || !double.IsFinite(LossSpike) || (LossSpike > 0 && LossSpike <= 1)) throw new ArgumentException("--loss-spike must be 0 (off) or a factor above 1");
        if (string.IsNullOrWhiteSpace(SaveWeight) || SaveWeight.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || SaveWeight.Contains('/'))
            throw new ArgumentException($"--save-weight '{SaveWeight}' is not a valid file-name prefix");
        if (!SaveDtype.IsFloatingPoint() || SaveDtype == TorchDType.F64) throw new ArgumentException("--save-dtype must be f32, f16 or bf16");
    }
}

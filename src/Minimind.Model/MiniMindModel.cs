using Minimind.Checkpoint;
using Minimind.Kernels;
using Minimind.Model.Layers;

namespace Minimind.Model;

/// <summary>
/// A MiniMind model of any generation, dense or MoE, with manual autograd over <see cref="IBackend"/> ops:
/// token embedding, N pre-norm blocks (attention + SwiGLU FFN or MoE with shared experts, residuals),
/// final RMSNorm and the (tied) output head. Parameters and gradients are single flat buffers laid out
/// by <see cref="Parameters"/> (the PyTorch state-dict keys); activations live in one arena sized
/// for (maxBatch, maxSeqLen). A forward-only model (<see cref="CreateForwardOnly"/>: a frozen reference) has no
/// gradients and keeps one block's activations, reused by every block.
/// </summary>
public sealed partial class MiniMindModel : ILanguageModel, IAuxLossSource
{
    private readonly ParameterLayout _layout;
    private readonly ActivationArena _arena;
    private readonly LayerActivations[] _acts;
    private readonly Tensor[] _residual;     // [NLayers+1] block inputs/outputs [N, D]
    private readonly Tensor _rstdF, _lnF, _logits, _losses, _rowScale, _tmp;
    private readonly IntTensor _ids, _targets, _startsBuf;
    // Each row's first RoPE position for the forward being run and its backward (a view of _startsBuf), or default when
    // every row starts at 0. Set by Prepare, Logits and DecodeForward before they call Forward.
    private IntTensor _starts;
    private readonly Tensor _cos, _sin;
    private readonly Scratch _s;
    private readonly int _maxRows;
    private bool _disposed;
    private Lora.LoraAdapters? _lora;

    /// <inheritdoc/>
    public ModelConfig Config { get; }
    /// <inheritdoc/>
    public IBackend Backend { get; }
    /// <inheritdoc/>
    public ParameterTable Parameters => _layout.Table;
    /// <summary>Named views of the parameters.</summary>
    public ParameterLayout Layout => _layout;
    /// <inheritdoc/>
    public Tensor Weights { get; }
    /// <inheritdoc/>
    public Tensor Gradients { get; }
    /// <summary>Largest batch a forward accepts.</summary>
    public int MaxBatch { get; }
    /// <summary>Longest sequence a forward accepts (also the RoPE table and KV cache capacity).</summary>
    public int MaxSeqLen { get; }
    /// <summary>True for a model made by <see cref="CreateForwardOnly"/>: no <see cref="Gradients"/>, no backward.</summary>
    public bool ForwardOnly { get; }
    /// <summary>Autocast precision of every matmul and attention (forward and backward); weights, norms, softmax and the
    /// loss stay float32. Setting bf16/fp16 on a backend without <see cref="BackendLimits.ReducedPrecision"/> throws.</summary>
    public Precision Precision
    {
        get => _precision;
        set
        {
            OpContract.Precision(nameof(Precision), value, Backend.Limits);
            _precision = value;
        }
    }
    private Precision _precision = Precision.Fp32;

    /// <summary>When set, the backward computes only what flows to the inputs (and to attached LoRA adapters): no matmul
    /// weight gradient, no embedding gradient, so a frozen base (LoRA) costs about a third less backward work. The norm
    /// weights' gradients, which come with their dx in one op, still accumulate; callers that freeze the base ignore
    /// <see cref="Gradients"/>.</summary>
    public bool FrozenWeights { get; set; }

    /// <summary>Gradient scratch reused by every block's backward.</summary>
    private sealed class Scratch
    {
        public Tensor DX, DLn, DAtt, DQ, DK, DV, DQRaw, DKRaw, DXs, DExpertOut, DWeights, DProbs, DRouter;
        public Tensor LnV, RstdV;  // the critic's second final norm (its output and rstd), when there is a value head
        public FfnScratch Ffn;
    }

    private MiniMindModel(ModelConfig config, IBackend backend, int maxBatch, int maxSeqLen, bool valueHead = false, bool forwardOnly = false)
    {
        config.Validate();
        CheckBackendLimits(config, backend);
        if (maxBatch <= 0 || maxSeqLen <= 0) throw new ArgumentException($"maxBatch ({maxBatch}) and maxSeqLen ({maxSeqLen}) must be positive");
        if (maxSeqLen > config.MaxSeqLen)
            throw new ArgumentException($"sequence length {maxSeqLen} exceeds the model's --max-seq-len {config.MaxSeqLen}");
        Config = config; Backend = backend; MaxBatch = maxBatch; MaxSeqLen = maxSeqLen; ForwardOnly = forwardOnly;
        _layout = new ParameterLayout(config, valueHead);
        if ((long)maxBatch * maxSeqLen > int.MaxValue)
            throw new ArgumentException($"a micro-batch of {maxBatch:N0} rows x {maxSeqLen:N0} tokens is more tokens than one pass can index; lower --batch-size or --max-seq-len");
        _maxRows = maxBatch * maxSeqLen;
        var counting = new ActivationArena();
        Plan(counting, out _, out _, out _, out _, out _, out _, out _, out _, out _, out _, out _, out _);
        CheckFits(config, backend, _layout.Table.TotalElements, counting, maxBatch, maxSeqLen, forwardOnly);
        Weights = backend.Alloc(_layout.Table.TotalElements);
        // Read as matmul weights by every forward: a backend may keep them packed until the buffer is next written.
        backend.KeepWeights(Weights);
        if (!forwardOnly) Gradients = backend.Alloc(_layout.Table.TotalElements);
        _arena = new ActivationArena(backend, counting.FloatsUsed, counting.IntsUsed);
        _acts = Plan(_arena, out _residual, out _rstdF, out _lnF, out _logits, out _losses, out _rowScale, out _tmp,
            out _ids, out _targets, out _startsBuf, out var cosSin, out _s);
        (_cos, _sin) = cosSin;
        var (cos, sin) = RopeTables.Compute(config.HeadDim, config.MaxSeqLen, config.RopeTheta, config.RopeScaling);
        backend.Upload(_cos, cos);
        backend.Upload(_sin, sin);
    }

    private LayerActivations[] Plan(ActivationArena a, out Tensor[] residual, out Tensor rstdF, out Tensor lnF, out Tensor logits,
        out Tensor losses, out Tensor rowScale, out Tensor tmp, out IntTensor ids, out IntTensor targets, out IntTensor starts,
        out (Tensor, Tensor) cosSin, out Scratch s)
    {
        var c = Config;
        int n = _maxRows, d = c.Dim, hq = c.NHeads * c.HeadDim, hk = c.NKvHeads * c.HeadDim, f = c.EffectiveHiddenDim;
        long moeRows = c.UseMoe ? (long)n * c.TopK : n;
        residual = new Tensor[c.NLayers + 1];
        var acts = new LayerActivations[c.NLayers];
        if (ForwardOnly)
        {
            // Nothing is kept for a backward: one residual stream updated in place (each block reads its input before its
            // last fused add writes the output) and one block's activations shared by all, but each block's router
            // choices, which the MoE aux loss reads after the forward.
            residual.AsSpan().Fill(a.Float((long)n * d));
            acts[0] = LayerActivations.Allocate(a, c, n, MaxBatch);
            for (int i = 1; i < c.NLayers; i++) acts[i] = acts[0].WithOwnRouting(a, c, n);
        }
        else
        {
            for (int i = 0; i <= c.NLayers; i++) residual[i] = a.Float((long)n * d);
            for (int i = 0; i < c.NLayers; i++) acts[i] = LayerActivations.Allocate(a, c, n, MaxBatch);
        }
        rstdF = a.Float(n); lnF = a.Float((long)n * d);
        logits = a.Float((long)n * c.VocabSize); losses = a.Float(n); rowScale = a.Float(n);
        tmp = a.Float((long)n * d);
        ids = a.Int(n); targets = a.Int(n); starts = a.Int(n);
        long half = (long)c.MaxSeqLen * (c.HeadDim / 2);
        cosSin = (a.Float(half), a.Float(half));
        long ffRows = Math.Max(moeRows, n);
        if (ForwardOnly)
        {
            // the forward's only scratch: the MoE router logits
            s = new Scratch();
            if (c.UseMoe) s.DRouter = a.Float((long)n * c.NExperts);
            return acts;
        }
        s = new Scratch
        {
            DX = a.Float((long)n * d), DLn = a.Float((long)n * d), DAtt = a.Float((long)n * hq),
            DQ = a.Float((long)n * hq), DK = a.Float((long)n * hk), DV = a.Float((long)n * hk),
            Ffn = new FfnScratch(a.Float(ffRows * f), a.Float(ffRows * f), a.Float(ffRows * f)),
        };
        if (c.QkNorm) { s.DQRaw = a.Float((long)n * hq); s.DKRaw = a.Float((long)n * hk); }
        if (_layout.ValueHead is not null) { s.LnV = a.Float((long)n * d); s.RstdV = a.Float(n); }
        if (c.UseMoe)
        {
            s.DXs = a.Float(moeRows * d); s.DExpertOut = a.Float(moeRows * d); s.DWeights = a.Float(moeRows);
            s.DProbs = a.Float((long)n * c.NExperts); s.DRouter = a.Float((long)n * c.NExperts);
        }
        return acts;
    }

    // Refuses up front what the backend cannot run, naming the limit and the config fields that set it.
    // Refuses, before any allocation, a model whose buffers exceed what the backend can hold, naming the flags that size them
    // (a .NET "buffer length" or out-of-memory exception names none).
    private static void CheckFits(ModelConfig c, IBackend backend, long parameters, ActivationArena plan, int maxBatch, int maxSeqLen, bool forwardOnly)
    {
        var limits = backend.Limits;
        string arch = $"--dim {c.Dim}, --n-layers {c.NLayers}, --vocab-size {c.VocabSize}{(c.UseMoe ? $", --n-experts {c.NExperts}" : "")}";
        if (parameters > limits.MaxBufferElements)
            throw new ArgumentException($"the model has {parameters:N0} parameters ({arch}), more than one {backend.Name} buffer holds ({limits.MaxBufferElements:N0})");
        long perRow = (plan.FloatsUsed + (long)maxBatch - 1) / maxBatch;
        long rowsThatFit = Math.Min(limits.MaxBufferElements, limits.MemoryBytes / 4 - 2 * parameters) / Math.Max(1, perRow);
        string lower = $"lower --batch-size (about {Math.Max(0, rowsThatFit):N0} rows of {maxSeqLen} tokens fit) or --max-seq-len";
        if (plan.FloatsUsed > limits.MaxBufferElements)
            throw new ArgumentException($"a micro-batch of {maxBatch:N0} rows x {maxSeqLen:N0} tokens needs {plan.FloatsUsed:N0} activation floats, more than one {backend.Name} buffer holds ({limits.MaxBufferElements:N0}); {lower}");
        // what this model allocates: weights, gradients (not forward-only) and the activations (a trainer adds the AdamW moments)
        long bytes = 4 * ((forwardOnly ? 1 : 2) * parameters + plan.FloatsUsed + plan.IntsUsed);
        if (bytes > limits.MemoryBytes)
            throw new ArgumentException($"the model ({parameters:N0} parameters, {arch}) with a micro-batch of {maxBatch:N0} rows x {maxSeqLen:N0} tokens needs about {bytes / (1 << 20):N0} MiB (weights, gradients, activations); the {backend.Name} backend has {limits.MemoryBytes / (1 << 20):N0} MiB: {lower}, or make the model smaller");
    }

    private static void CheckBackendLimits(ModelConfig c, IBackend backend)
    {
        var limits = backend.Limits;
        if (c.HeadDim > limits.MaxHeadDim)
            throw new ArgumentException(
                $"head_dim {c.HeadDim} (dim {c.Dim} / n_heads {c.NHeads}) exceeds the {backend.Name} backend's limit of {limits.MaxHeadDim} " +
                $"(BackendLimits.MaxHeadDim); raise --n-heads or lower --dim so that dim / n_heads <= {limits.MaxHeadDim}, or use --device cpu");
    }

    /// <summary>Creates a zero-weight model; call <see cref="InitRandom"/> or <see cref="LoadStateDict"/> next.</summary>
    public static MiniMindModel Create(ModelConfig config, IBackend backend, int maxBatch, int maxSeqLen) =>
        new(config, backend, maxBatch, maxSeqLen);

    /// <summary>
    /// A zero-weight model that only runs forwards (log-probs, losses, logits, decode): a frozen reference or teacher. It
    /// allocates no gradients and one block's activations instead of every block's, so it needs the weights, the logits
    /// and about 1/<see cref="ModelConfig.NLayers"/> of a trained model's activations; a backward throws.
    /// </summary>
    public static MiniMindModel CreateForwardOnly(ModelConfig config, IBackend backend, int maxBatch, int maxSeqLen) =>
        new(config, backend, maxBatch, maxSeqLen, forwardOnly: true);

    private Tensor W(ParameterEntry e) => Weights.Slice(e.Offset, e.Numel);
    private Tensor G(ParameterEntry e) => Gradients.Slice(e.Offset, e.Numel);
    private static Tensor Rows(Tensor t, int rows, int width) => t.Slice(0, (long)rows * width);

    // ---- weights --------------------------------------------------------------------------------

    /// <summary>
    /// PyTorch-like initialisation from a seeded RNG: RMSNorm weights 1, embedding N(0, 0.02) (MiniMind's
    /// _init_weights), every Linear U(−1/√in, 1/√in) (nn.Linear's default kaiming_uniform(a=√5) bound).
    /// </summary>
    public void InitRandom(int seed)
    {
        var rng = new Random(seed);
        var host = new float[Parameters.TotalElements];
        foreach (var e in Parameters.Owners)
        {
            var span = host.AsSpan((int)e.Offset, (int)e.Numel);
            if (e.Shape.Length == 1) { span.Fill(1f); continue; }
            if (e == _layout.Embedding)
            {
                for (int i = 0; i < span.Length; i++) span[i] = (float)(0.02 * Gaussian(rng));
                continue;
            }
            float bound = 1f / MathF.Sqrt(e.Shape[1]);
            for (int i = 0; i < span.Length; i++) span[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        }
        Backend.Upload(Weights, host);
    }

    private static double Gaussian(Random r)
    {
        double u1 = 1.0 - r.NextDouble(), u2 = r.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Loads a state dict (keys and shapes must match the config when <paramref name="strict"/>).</summary>
    public LoadReport LoadStateDict(StateDict sd, bool strict = true)
    {
        var host = new float[Parameters.TotalElements];
        var report = StateDictLoader.Load(sd, Parameters, host, strict);
        Backend.Upload(Weights, host);
        return report;
    }

    /// <summary>The weights as a state dict (tied keys included) stored as <paramref name="dtype"/>.</summary>
    public StateDict ExportStateDict(TorchDType dtype = TorchDType.F32)
    {
        var host = new float[Parameters.TotalElements];
        Backend.Download(Weights, host);
        return StateDictLoader.Export(Parameters, host, dtype);
    }

    /// <inheritdoc/>
    public float LastAuxLoss { get; private set; }

    /// <summary>Routes the attention projections through <paramref name="lora"/>'s adapters from now on (forward, backward, decode).</summary>
    internal void AttachLora(Lora.LoraAdapters lora)
    {
        if (_lora is not null) throw new InvalidOperationException("the model already carries LoRA adapters");
        _lora = lora;
    }

    /// <summary>Sets every gradient to zero.</summary>
    public void ZeroGradients() => Backend.Fill(Gradients, 0f);

    // ---- training / evaluation ------------------------------------------------------------------

    /// <inheritdoc/>
    public float ForwardBackward(Batch batch, float lossScale)
    {
        var (sumW, weights) = Prepare(batch);
        int rows = batch.BatchSize * batch.SeqLen;
        // rowScale = lossScale·w/Σw: the fused loss turns logits into dLogits in place, in the pass that computes the losses
        var scale = new float[rows];
        if (sumW > 0) for (int r = 0; r < rows; r++) scale[r] = (float)(lossScale * weights[r] / sumW);
        Backend.Upload(_rowScale, scale);
        Forward(batch.BatchSize, batch.SeqLen);
        float main = HeadLoss(rows, sumW, weights, withGradient: true);
        float aux = Backward(batch.BatchSize, batch.SeqLen, lossScale, logitsAreGradient: true);
        LastAuxLoss = aux;
        return main + aux;
    }

    /// <inheritdoc/>
    public float ForwardLoss(Batch batch)
    {
        var (sumW, weights) = Prepare(batch);
        Forward(batch.BatchSize, batch.SeqLen);
        int rows = batch.BatchSize * batch.SeqLen;
        float main = HeadLoss(rows, sumW, weights);
        return main + AuxLossOnly(batch.BatchSize, batch.SeqLen);
    }

    /// <summary>The CE part and the MoE aux part of the loss separately (forward only).</summary>
    public (float ce, float aux) ForwardLossParts(Batch batch)
    {
        var (sumW, weights) = Prepare(batch);
        Forward(batch.BatchSize, batch.SeqLen);
        float main = HeadLoss(batch.BatchSize * batch.SeqLen, sumW, weights);
        return (main, AuxLossOnly(batch.BatchSize, batch.SeqLen));
    }

    /// <summary>Logits [B·T, V] for every position of <paramref name="inputs"/> (forward only); row b's tokens at RoPE
    /// positions <paramref name="positionOffsets"/>[b] + t when given (see <see cref="Batch.PositionOffsets"/>).</summary>
    public float[] Logits(int[] inputs, int batch, int seqLen, int[]? positionOffsets = null)
    {
        CheckShape(batch, seqLen);
        if (inputs.Length != batch * seqLen) throw new ArgumentException($"inputs hold {inputs.Length} ids, expected {batch * seqLen}");
        CheckIds(inputs, "input");
        Backend.Upload(_ids, inputs);
        SetStarts(positionOffsets, batch, seqLen);
        Forward(batch, seqLen);
        int rows = batch * seqLen, v = Config.VocabSize;
        Backend.MatMul(Rows(_logits, rows, v), Rows(_lnF, rows, Config.Dim), W(_layout.Head), new(rows, v, Config.Dim, Precision));
        var host = new float[(long)rows * v];
        Backend.Download(Rows(_logits, rows, v), host);
        return host;
    }

    private void CheckShape(int batch, int seqLen)
    {
        if (batch <= 0 || batch > MaxBatch) throw new ArgumentException($"batch {batch} outside [1, {MaxBatch}] (the model was created for at most {MaxBatch})");
        if (seqLen <= 0 || seqLen > MaxSeqLen) throw new ArgumentException($"sequence length {seqLen} outside [1, {MaxSeqLen}]");
    }

    private void CheckIds(int[] ids, string what)
    {
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)Config.VocabSize)
                throw new ArgumentException($"{what} id {ids[i]} at position {i} is outside the vocabulary [0, {Config.VocabSize})");
    }

    // Uploads ids/targets; returns Σw and w = mask·[target ≠ ignore] per row.
    private (double sumW, float[] w) Prepare(Batch b)
    {
        CheckShape(b.BatchSize, b.SeqLen);
        CheckIds(b.Inputs, "input");
        int rows = b.BatchSize * b.SeqLen;
        var w = new float[rows];
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            int t = b.Targets[r];
            if (t == Batch.IgnoreIndex) continue;
            if ((uint)t >= (uint)Config.VocabSize)
                throw new ArgumentException($"target id {t} at position {r} is outside the vocabulary [0, {Config.VocabSize}) and is not {Batch.IgnoreIndex}");
            w[r] = b.LossMask?[r] ?? 1f;
            sum += w[r];
        }
        Backend.Upload(_ids, b.Inputs);
        Backend.Upload(_targets, b.Targets);
        SetStarts(b.PositionOffsets, b.BatchSize, b.SeqLen);
        return (sum, w);
    }

    // Uploads each row's first position (null: all rows from 0); positions must stay inside the RoPE table.
    private void SetStarts(int[]? starts, int batch, int tokens)
    {
        if (starts is null) { _starts = default; return; }
        if (starts.Length < batch) throw new ArgumentException($"position offsets hold {starts.Length} values, expected {batch}");
        for (int r = 0; r < batch; r++)
            if (starts[r] < 0 || (long)starts[r] + tokens > Config.MaxSeqLen)
                throw new ArgumentException(
                    $"row {r}: position offset {starts[r]} + {tokens} tokens is outside the model's positions [0, {Config.MaxSeqLen}) (--max-seq-len)");
        _starts = _startsBuf.Slice(0, batch);
        Backend.Upload(_starts, starts.AsSpan(0, batch));
    }

    // logits = head(lnF); losses = CE; returns Σ w·CE / Σ w (float64 on the host, fixed order). withGradient: the logits
    // become dLogits (from _rowScale, uploaded before) in the same pass, for Backward(logitsAreGradient: true).
    private float HeadLoss(int rows, double sumW, float[] w, bool withGradient = false)
    {
        int v = Config.VocabSize;
        Backend.MatMul(Rows(_logits, rows, v), Rows(_lnF, rows, Config.Dim), W(_layout.Head), new(rows, v, Config.Dim, Precision));
        if (withGradient) Backend.CrossEntropyForwardBackward(_losses, _logits, _logits, _targets, _rowScale, new(rows, v), Batch.IgnoreIndex);
        else Backend.CrossEntropy(_losses, _logits, _targets, new(rows, v), Batch.IgnoreIndex);
        var l = new float[rows];
        Backend.Download(Rows(_losses, rows, 1), l);
        if (sumW <= 0) return 0f;
        double acc = 0;
        for (int r = 0; r < rows; r++) if (w[r] != 0) acc += (double)w[r] * l[r];
        return (float)(acc / sumW);
    }

    private float AuxLossOnly(int batch, int seqLen)
    {
        if (!Config.UseMoe || Config.AuxKind == AuxLossKind.None || Config.AuxAlpha == 0) return 0f;
        float aux = 0;
        foreach (var a in _acts)
            aux += Backend.MoeAuxLoss(default, a.Probs, a.TopIdx, new(batch, seqLen, Config.NExperts, Config.TopK), Config.AuxAlpha, Config.AuxKind, 1f);
        return aux;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _arena.Dispose();
        Weights.Buffer.Dispose();
        Gradients.Buffer?.Dispose();
    }
}

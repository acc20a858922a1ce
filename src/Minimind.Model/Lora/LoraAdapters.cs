using Minimind.Checkpoint;
using Minimind.Kernels;

namespace Minimind.Model.Lora;

/// <summary>The attention projections a LoRA adapter can sit on.</summary>
public enum LoraSlot
{
    /// <summary>Query projection (wq / q_proj).</summary>
    Q,
    /// <summary>Key projection (wk / k_proj).</summary>
    K,
    /// <summary>Value projection (wv / v_proj).</summary>
    V,
    /// <summary>Output projection (wo / o_proj).</summary>
    O,
}

/// <summary>
/// MiniMind's LoRA (<c>model/model_lora.py</c>): on every square nn.Linear (in == out features) a pair
/// A [rank, in], B [out, rank] with y = W·x + B·(A·x); A ~ N(0, 0.02), B = 0, so training starts at the base
/// model. The adapters are one flat buffer whose keys are MiniMind's (<c>{linear}.lora.A.weight</c>,
/// <c>{linear}.lora.B.weight</c>), so <c>load_lora</c> accepts the saved file.
/// </summary>
public sealed class LoraAdapters : IDisposable
{
    /// <summary>MiniMind's default rank (apply_lora(model, rank=16)).</summary>
    public const int DefaultRank = 16;

    private sealed record Adapter(ParameterEntry Base, ParameterEntry A, ParameterEntry B, int In, int Out, Tensor U);

    private readonly IBackend _backend;
    private readonly Adapter?[,] _at;
    private readonly List<Adapter> _all = new();
    private readonly Tensor _du;

    /// <summary>Adapter rank r.</summary>
    public int Rank { get; }
    /// <summary>Keys and offsets of the adapter weights (the saved <c>.pth</c>'s layout).</summary>
    public ParameterTable Table { get; } = new();
    /// <summary>All adapter weights, flat, laid out by <see cref="Table"/>.</summary>
    public Tensor Weights { get; }
    /// <summary>Their gradients (the model's backward adds into them).</summary>
    public Tensor Gradients { get; }
    /// <summary>Base-model keys that carry an adapter, in MiniMind's module order.</summary>
    public IEnumerable<string> AdaptedKeys => _all.Select(a => a.Base.Name);

    /// <summary>Adapters of rank <paramref name="rank"/> on every square linear of <paramref name="model"/>, attached to it.</summary>
    public LoraAdapters(MiniMindModel model, int rank = DefaultRank)
    {
        if (rank < 1) throw new ArgumentException($"--lora-rank must be at least 1, got {rank}");
        var c = model.Config;
        var lay = model.Layout;
        _backend = model.Backend; Rank = rank;
        // Square linears MiniMind would adapt that this model cannot: refuse rather than train a different set.
        void Refuse(ParameterEntry? e)
        {
            if (e is { TiedTo: null } && e.Shape.Length == 2 && e.Shape[0] == e.Shape[1])
                throw new NotSupportedException($"{e.Name} is a square linear ({e.Shape[0]}x{e.Shape[1]}) that MiniMind's apply_lora adapts; LoRA here covers the attention projections only");
        }
        Refuse(lay.Head.TiedTo is null ? lay.Head : null);
        foreach (var p in lay.Layers)
        {
            Refuse(p.Router);
            foreach (var f in (p.Ffn is { } d ? new[] { d } : Array.Empty<FfnParams>()).Concat(p.Experts).Concat(p.Shared))
            { Refuse(f.Gate); Refuse(f.Down); Refuse(f.Up); }
        }
        int rows = model.MaxBatch * model.MaxSeqLen;
        _at = new Adapter?[c.NLayers, 4];
        var pending = new List<(int Layer, LoraSlot Slot, ParameterEntry Base, ParameterEntry A, ParameterEntry B)>();
        for (int l = 0; l < c.NLayers; l++)
        {
            var p = lay.Layers[l];
            foreach (var (slot, e) in new[] { (LoraSlot.Q, p.Wq), (LoraSlot.K, p.Wk), (LoraSlot.V, p.Wv), (LoraSlot.O, p.Wo) })
            {
                if (e.Shape[0] != e.Shape[1]) continue;
                string stem = e.Name[..^".weight".Length];
                int n = e.Shape[0];
                var a = Table.Add($"{stem}.lora.A.weight", rank, n);
                var b = Table.Add($"{stem}.lora.B.weight", n, rank);
                pending.Add((l, slot, e, a, b));
            }
        }
        if (pending.Count == 0) throw new NotSupportedException("the model has no square linear layer for LoRA to adapt (MiniMind adapts only in_features == out_features)");
        Weights = _backend.Alloc(Table.TotalElements);
        Gradients = _backend.Alloc(Table.TotalElements);
        _du = _backend.Alloc((long)rows * rank);
        foreach (var (l, slot, e, a, b) in pending)
        {
            var ad = new Adapter(e, a, b, e.Shape[1], e.Shape[0], _backend.Alloc((long)rows * rank));
            _at[l, (int)slot] = ad;
            _all.Add(ad);
        }
        model.AttachLora(this);
    }

    /// <summary>MiniMind's init, seeded: every A ~ N(0, 0.02), every B = 0.</summary>
    public void InitRandom(int seed)
    {
        var rng = new Random(seed);
        var host = new float[Table.TotalElements];
        foreach (var ad in _all)
        {
            var span = host.AsSpan((int)ad.A.Offset, (int)ad.A.Numel);
            for (int i = 0; i < span.Length; i++)
            {
                double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
                span[i] = (float)(0.02 * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
        }
        _backend.Upload(Weights, host);
    }

    /// <summary>Loads a LoRA file's tensors (MiniMind's keys, <c>module.</c> stripped); every adapter must be present.</summary>
    public LoadReport Load(StateDict sd)
    {
        var host = new float[Table.TotalElements];
        var report = StateDictLoader.Load(sd, Table, host, strict: true);
        _backend.Upload(Weights, host);
        return report;
    }

    private Tensor W(ParameterEntry e) => Weights.Slice(e.Offset, e.Numel);
    private Tensor G(ParameterEntry e) => Gradients.Slice(e.Offset, e.Numel);

    /// <summary>y += B·(A·x) for the adapter at (<paramref name="layer"/>, <paramref name="slot"/>), if any; keeps A·x for the backward.
    /// <paramref name="precision"/> is the base projection's, as autocast rounds every matmul of the block alike.</summary>
    internal void Forward(int layer, LoraSlot slot, Tensor y, Tensor x, int rows, Precision precision)
    {
        var ad = _at[layer, (int)slot];
        if (ad is null) return;
        var u = ad.U.Slice(0, (long)rows * Rank);
        _backend.MatMul(u, x, W(ad.A), new(rows, Rank, ad.In, precision));
        _backend.MatMul(y, u, W(ad.B), new(rows, ad.Out, Rank, precision), WriteMode.Accumulate);
    }

    /// <summary>Adds the adapter's share of ∂/∂x into <paramref name="dx"/> and its weight gradients (dB += dyᵀ·u, dA += duᵀ·x).</summary>
    internal void Backward(int layer, LoraSlot slot, Tensor dy, Tensor x, Tensor dx, int rows, Precision precision)
    {
        var ad = _at[layer, (int)slot];
        if (ad is null) return;
        var u = ad.U.Slice(0, (long)rows * Rank);
        var du = _du.Slice(0, (long)rows * Rank);
        _backend.MatMulBackwardWeight(G(ad.B), dy, u, new(rows, ad.Out, Rank, precision), WriteMode.Accumulate);
        _backend.MatMulBackwardInput(du, dy, W(ad.B), new(rows, ad.Out, Rank, precision), WriteMode.Overwrite);
        _backend.MatMulBackwardWeight(G(ad.A), du, x, new(rows, Rank, ad.In, precision), WriteMode.Accumulate);
        _backend.MatMulBackwardInput(dx, du, W(ad.A), new(rows, Rank, ad.In, precision), WriteMode.Accumulate);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Weights.Buffer.Dispose();
        Gradients.Buffer.Dispose();
        _du.Buffer.Dispose();
        foreach (var a in _all) a.U.Buffer.Dispose();
    }
}

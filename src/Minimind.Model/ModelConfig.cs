using Minimind.Kernels;

namespace Minimind.Model;

/// <summary>
/// Architecture of a MiniMind model. Start from a preset (<see cref="Preset"/>) and override fields
/// with <c>with { ... }</c>; <see cref="Validate"/> reports inconsistent combinations by field name.
/// </summary>
public readonly record struct ModelConfig
{
    /// <summary>Preset name this config started from (e.g. <c>minimind-v1</c>).</summary>
    public string Arch { get; init; }
    /// <summary>Key layout and formulas of this generation.</summary>
    public ModelGeneration Generation { get; init; }
    /// <summary>Model width (hidden_size).</summary>
    public int Dim { get; init; }
    /// <summary>Number of transformer blocks.</summary>
    public int NLayers { get; init; }
    /// <summary>Query heads.</summary>
    public int NHeads { get; init; }
    /// <summary>Key/value heads (grouped-query attention when smaller than NHeads).</summary>
    public int NKvHeads { get; init; }
    /// <summary>Vocabulary size.</summary>
    public int VocabSize { get; init; }
    /// <summary>FFN inner width (intermediate_size); 0 means "derive with the generation's formula".</summary>
    public int HiddenDim { get; init; }
    /// <summary>Longest sequence (RoPE table length for training; generation may go to this).</summary>
    public int MaxSeqLen { get; init; }
    /// <summary>RoPE base (1e4 for 2024, 1e6 later).</summary>
    public float RopeTheta { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public float NormEps { get; init; }
    /// <summary>How RoPE pairs elements.</summary>
    public RopeLayout Rope { get; init; }
    /// <summary>YaRN context extension of the RoPE frequencies (MiniMind's <c>inference_rope_scaling</c>), or null for none.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>Per-head RMSNorm on q and k before RoPE (minimind-3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>Output head shares the embedding matrix.</summary>
    public bool TiedEmbeddings { get; init; }
    /// <summary>Mixture-of-experts FFN instead of a dense one.</summary>
    public bool UseMoe { get; init; }
    /// <summary>Routed experts.</summary>
    public int NExperts { get; init; }
    /// <summary>Experts per token.</summary>
    public int TopK { get; init; }
    /// <summary>Always-on shared experts.</summary>
    public int NSharedExperts { get; init; }
    /// <summary>Renormalise the top-k weights to sum to one.</summary>
    public bool NormTopKProb { get; init; }
    /// <summary>Aux-loss weight (aux_loss_alpha / router_aux_loss_coef).</summary>
    public float AuxAlpha { get; init; }
    /// <summary>Aux-loss formula.</summary>
    public AuxLossKind AuxKind { get; init; }

    /// <summary>Head width.</summary>
    public int HeadDim => Dim / NHeads;

    /// <summary>The names <see cref="Preset"/> accepts.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = new[] { "minimind-v1", "minimind2", "minimind2-hf", "minimind3" };

    /// <summary>The published defaults of a generation. Throws an ArgumentException listing the valid names.</summary>
    public static ModelConfig Preset(string name) => name switch
    {
        "minimind-v1" => new ModelConfig
        {
            Arch = name, Generation = ModelGeneration.V2024, Dim = 512, NLayers = 8, NHeads = 16, NKvHeads = 8,
            VocabSize = 6400, MaxSeqLen = 512, RopeTheta = 1e4f, NormEps = 1e-5f, Rope = RopeLayout.Interleaved,
            TiedEmbeddings = true, NExperts = 4, TopK = 2, NSharedExperts = 1, NormTopKProb = true,
            AuxAlpha = 0.01f, AuxKind = AuxLossKind.SequenceLevel,
        },
        "minimind2" => new ModelConfig
        {
            Arch = name, Generation = ModelGeneration.MiniMind2, Dim = 512, NLayers = 8, NHeads = 8, NKvHeads = 2,
            VocabSize = 6400, MaxSeqLen = 512, RopeTheta = 1e6f, NormEps = 1e-5f, Rope = RopeLayout.Interleaved,
            TiedEmbeddings = true, NExperts = 4, TopK = 2, NSharedExperts = 1, NormTopKProb = true,
            AuxAlpha = 0.1f, AuxKind = AuxLossKind.SequenceLevel,
        },
        "minimind2-hf" => new ModelConfig
        {
            Arch = name, Generation = ModelGeneration.MiniMind2Hf, Dim = 512, NLayers = 8, NHeads = 8, NKvHeads = 2,
            VocabSize = 6400, MaxSeqLen = 512, RopeTheta = 1e6f, NormEps = 1e-5f, Rope = RopeLayout.RotateHalf,
            TiedEmbeddings = true, NExperts = 4, TopK = 2, NSharedExperts = 1, NormTopKProb = true,
            AuxAlpha = 0.1f, AuxKind = AuxLossKind.SequenceLevel,
        },
        "minimind3" => new ModelConfig
        {
            Arch = name, Generation = ModelGeneration.MiniMind3, Dim = 768, NLayers = 8, NHeads = 8, NKvHeads = 4,
            VocabSize = 6400, MaxSeqLen = 512, RopeTheta = 1e6f, NormEps = 1e-6f, Rope = RopeLayout.RotateHalf,
            QkNorm = true, TiedEmbeddings = true, NExperts = 4, TopK = 1, NSharedExperts = 0, NormTopKProb = true,
            AuxAlpha = 5e-4f, AuxKind = AuxLossKind.MiniMind3,
        },
        _ => throw new ArgumentException($"unknown --arch '{name}'; expected one of: {string.Join(", ", PresetNames)}", nameof(name)),
    };

    /// <summary>FFN width: HiddenDim when set, else the generation's formula
    /// (2024/minimind2: 64·ceil((8·dim/3)/64); minimind-3: 64·ceil(dim·π/64)).</summary>
    public int EffectiveHiddenDim => HiddenDim > 0 ? HiddenDim : (int)DerivedHiddenDim;

    // The generation's FFN formula in 64-bit, so that Validate can name a --dim whose FFN width does not fit.
    private long DerivedHiddenDim => Generation switch
    {
        ModelGeneration.MiniMind3 => 64 * (long)Math.Ceiling(Dim * Math.PI / 64),
        // int(2·4·dim/3) rounded up to a multiple of 64, in integer steps as LMConfig does
        _ => 64 * ((8L * Dim / 3 + 63) / 64),
    };

    /// <summary>Whether the top-k router weights are renormalised: MiniMind before v3 only does it for
    /// top-k &gt; 1; minimind-3 whenever norm_topk_prob is set (so top-1 weights become 1).</summary>
    public bool RenormalizeTopK => NormTopKProb && (TopK > 1 || Generation == ModelGeneration.MiniMind3);

    /// <summary>True for the HF-style key layout (<c>model.layers.N.self_attn...</c>).</summary>
    public bool HfKeys => Generation is ModelGeneration.MiniMind2Hf or ModelGeneration.MiniMind3;

    /// <summary>Most transformer blocks <see cref="Validate"/> accepts (MiniMind's models have 8-16; the largest public models about 128).</summary>
    public const int MaxLayers = 1024;
    /// <summary>Most routed experts per layer <see cref="Validate"/> accepts (MiniMind's MoE has 4; the largest public MoE models 256).</summary>
    public const int MaxExperts = 1024;

    /// <summary>Throws an ArgumentException naming the offending field when the config cannot be built.</summary>
    public void Validate()
    {
        static void Need(bool ok, string msg) { if (!ok) throw new ArgumentException(msg); }
        Need(Dim > 0 && NLayers > 0 && NHeads > 0 && NKvHeads > 0 && VocabSize > 0 && MaxSeqLen > 0,
            "--dim, --n-layers, --n-heads, --n-kv-heads, --vocab-size and --max-seq-len must be positive");
        Need(Dim % NHeads == 0, $"--dim {Dim} is not divisible by --n-heads {NHeads}");
        Need(NHeads % NKvHeads == 0, $"--n-heads {NHeads} is not divisible by --n-kv-heads {NKvHeads}");
        Need(HeadDim % 2 == 0, $"head dim {HeadDim} (dim/n-heads) must be even for RoPE");
        // The parameter table holds a few entries per block and expert: counts past these would exhaust memory laying it out
        // before the backend's size check could name them.
        Need(NLayers <= MaxLayers, $"--n-layers {NLayers} is more blocks than a model here may have (at most {MaxLayers:N0}); lower --n-layers");
        Need(!UseMoe || NExperts <= MaxExperts, $"--n-experts {NExperts} is more experts than a layer here may have (at most {MaxExperts:N0}); lower --n-experts");
        // Every weight matrix must be addressable: the widest are the FFN's [hidden, dim] and the embedding's [vocab, dim].
        long ffn = HiddenDim > 0 ? HiddenDim : DerivedHiddenDim;
        Need(ffn > 0 && ffn <= int.MaxValue && ffn * Dim <= int.MaxValue,
            $"--dim {Dim}{(HiddenDim > 0 ? $" with --hidden-dim {HiddenDim}" : "")} gives an FFN weight of {ffn:N0} x {Dim:N0} elements, more than one tensor can hold ({int.MaxValue:N0}); lower {(HiddenDim > 0 ? "--hidden-dim or --dim" : "--dim")}");
        Need((long)VocabSize * Dim <= int.MaxValue,
            $"--vocab-size {VocabSize} x --dim {Dim} = {(long)VocabSize * Dim:N0} embedding elements, more than one tensor can hold ({int.MaxValue:N0})");
        RopeScaling?.Validate();
        if (UseMoe)
        {
            Need(NExperts > 0, "--n-experts must be positive with --use-moe");
            Need(TopK >= 1 && TopK <= NExperts, $"--top-k {TopK} must be between 1 and --n-experts {NExperts}");
            Need(NSharedExperts >= 0, "--n-shared-experts must not be negative");
            Need(Generation is not (ModelGeneration.V2024 or ModelGeneration.MiniMind2) || NSharedExperts <= 1,
                $"{Arch} has at most one shared expert (n_shared_experts is a bool there), got {NSharedExperts}");
            Need(Generation != ModelGeneration.MiniMind3 || NSharedExperts == 0, "minimind3 has no shared experts");
        }
    }
}

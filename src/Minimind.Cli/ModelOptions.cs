using System.Globalization;
using Minimind.Checkpoint;
using Minimind.Model;

namespace Minimind.Cli;

/// <summary>
/// The architecture options every model-building command shares: <c>--arch</c> plus per-field overrides,
/// a <c>config.json</c> beside the weights, and shapes inferred from the checkpoint. Precedence, lowest
/// first: preset → config.json → checkpoint shapes (fields nobody set) → command-line overrides; a
/// checkpoint tensor whose shape still disagrees is an error naming the key and both shapes.
/// </summary>
public static class ModelOptions
{
    /// <summary><c>--arch</c>.</summary>
    public static readonly CliOption<string?> Arch = Opt.ChoiceOrNull("arch",
            "generation: minimind-v1 (2024 Transformer), minimind2 (MiniMindLM), minimind2-hf (MiniMindForCausalLM), minimind3 (HEAD, q/k norm); " +
            "a checkpoint's keys decide when not given (2024 and minimind2 files share keys: minimind2 is assumed)",
            ModelConfig.PresetNames.ToArray())
        .DefaultIs("from the checkpoint, else the command's new-model default").Sample("minimind2", "minimind-v1");
    /// <summary><c>--dim</c>.</summary>
    public static readonly CliOption<int?> Dim = Opt.IntOrNull("dim", "N", "hidden size").AtLeast(1).Sample("128");
    /// <summary><c>--n-layers</c>.</summary>
    public static readonly CliOption<int?> NLayers = Opt.IntOrNull("n-layers", "N", "transformer blocks").AtLeast(1).Sample("3");
    /// <summary><c>--n-heads</c>.</summary>
    public static readonly CliOption<int?> NHeads = Opt.IntOrNull("n-heads", "N", "query heads").AtLeast(1).Sample("16", "8");
    /// <summary><c>--n-kv-heads</c>.</summary>
    public static readonly CliOption<int?> NKvHeads = Opt.IntOrNull("n-kv-heads", "N", "key/value heads (GQA; divides --n-heads)").AtLeast(1).Sample("1");
    /// <summary><c>--vocab-size</c>.</summary>
    public static readonly CliOption<int?> VocabSize = Opt.IntOrNull("vocab-size", "N", "vocabulary size (at least the tokenizer's)").AtLeast(1).Sample("512");
    /// <summary><c>--hidden-dim</c>.</summary>
    public static readonly CliOption<int?> HiddenDim = Opt.IntOrNull("hidden-dim", "N", "FFN width (unset: the generation's formula from --dim)").AtLeast(1).Sample("96");
    /// <summary><c>--max-seq-len</c> as the model's context (RoPE table length).</summary>
    public static readonly CliOption<int?> MaxSeqLen = Opt.IntOrNull("max-seq-len", "N", "context length (RoPE table)").AtLeast(2).Sample("1024");
    /// <summary><c>--rope-theta</c>.</summary>
    public static readonly CliOption<double?> RopeTheta = Opt.DoubleOrNull("rope-theta", "X", "RoPE base").Positive().Sample("50000");
    /// <summary><c>--norm-eps</c>.</summary>
    public static readonly CliOption<double?> NormEps = Opt.DoubleOrNull("norm-eps", "X", "RMSNorm epsilon").Positive().Sample("1e-3");
    /// <summary><c>--use-moe</c>.</summary>
    public static readonly CliOption<bool?> UseMoe = Opt.FlagOrNull("use-moe", "mixture-of-experts FFN ([true|false])");
    /// <summary><c>--n-experts</c>.</summary>
    public static readonly CliOption<int?> NExperts = Opt.IntOrNull("n-experts", "N", "routed experts").AtLeast(1).Sample("6");
    /// <summary><c>--top-k</c> as the MoE router's experts per token.</summary>
    public static readonly CliOption<int?> TopK = Opt.IntOrNull("top-k", "N", "experts per token").AtLeast(1).Sample("3");
    /// <summary><c>--n-shared-experts</c>.</summary>
    public static readonly CliOption<int?> NSharedExperts = Opt.IntOrNull("n-shared-experts", "N", "always-on experts").AtLeast(0).Sample("2");
    /// <summary><c>--aux-alpha</c>.</summary>
    public static readonly CliOption<double?> AuxAlpha = Opt.DoubleOrNull("aux-alpha", "X", "MoE load-balancing loss weight").AtLeast(0).Sample("0.25");
    /// <summary><c>--tie-embeddings</c>.</summary>
    public static readonly CliOption<bool?> TieEmbeddings = Opt.FlagOrNull("tie-embeddings",
        "output head shares the embedding ([true|false]; unset: true, as in every MiniMind generation, unless config.json says otherwise; a file whose two copies differ is reported)").Sample("false");

    /// <summary><c>--rope-scaling</c>.</summary>
    public static readonly CliOption<string?> RopeScalingMode = Opt.ChoiceOrNull("rope-scaling",
            "RoPE context extension: yarn = MiniMind's --inference_rope_scaling (factor 16, original 2048, beta 32/1, attention factor 1; " +
            "every position is scaled, as in MiniMind, whose 32768-long table always exceeds the original), none = drop the file's", "none", "yarn")
        .DefaultIs("the file's (architecture record or config.json rope_scaling), else none").Sample("yarn", "none");
    /// <summary><c>--rope-factor</c>.</summary>
    public static readonly CliOption<double?> RopeFactor = Opt.DoubleOrNull("rope-factor", "X", "YaRN context factor (implies --rope-scaling yarn)").Positive()
        .DefaultIs("16").Sample("4");
    /// <summary><c>--rope-original-max</c>.</summary>
    public static readonly CliOption<int?> RopeOriginalMax = Opt.IntOrNull("rope-original-max", "N", "YaRN's original (training) context in tokens (implies --rope-scaling yarn)")
        .AtLeast(1).DefaultIs("2048").Sample("1024");

    // How each override reaches the config; Pinned names the field the checkpoint must then agree with (null: not a shape).
    private sealed record Field(CliOption Option, string? Pinned, Func<ArgParser, ModelConfig, ModelConfig> Apply);

    private static Field I(CliOption<int?> o, string? pinned, Func<ModelConfig, int, ModelConfig> set) => new(o, pinned, (a, c) => set(c, a.Get(o)!.Value));
    private static Field F(CliOption<double?> o, Func<ModelConfig, float, ModelConfig> set) => new(o, null, (a, c) => set(c, (float)a.Get(o)!.Value));

    private static readonly Field[] Fields =
    {
        I(Dim, nameof(ModelConfig.Dim), (c, v) => c with { Dim = v }),
        I(NLayers, nameof(ModelConfig.NLayers), (c, v) => c with { NLayers = v }),
        I(NHeads, nameof(ModelConfig.NHeads), (c, v) => c with { NHeads = v }),
        I(NKvHeads, nameof(ModelConfig.NKvHeads), (c, v) => c with { NKvHeads = v }),
        I(VocabSize, nameof(ModelConfig.VocabSize), (c, v) => c with { VocabSize = v }),
        I(HiddenDim, nameof(ModelConfig.HiddenDim), (c, v) => c with { HiddenDim = v }),
        I(MaxSeqLen, null, (c, v) => c with { MaxSeqLen = v }),
        F(RopeTheta, (c, v) => c with { RopeTheta = v }),
        F(NormEps, (c, v) => c with { NormEps = v }),
        new(UseMoe, nameof(ModelConfig.UseMoe), (a, c) => c with { UseMoe = a.Get(UseMoe)!.Value }),
        I(NExperts, nameof(ModelConfig.NExperts), (c, v) => c with { NExperts = v }),
        I(TopK, null, (c, v) => c with { TopK = v }),
        I(NSharedExperts, nameof(ModelConfig.NSharedExperts), (c, v) => c with { NSharedExperts = v }),
        F(AuxAlpha, (c, v) => c with { AuxAlpha = v }),
        new(TieEmbeddings, nameof(ModelConfig.TiedEmbeddings), (a, c) => c with { TiedEmbeddings = a.Get(TieEmbeddings)!.Value }),
    };

    /// <summary>The architecture group, for every command that builds a model.</summary>
    public static readonly OptionGroup Architecture = new(
        "Model architecture (each unset field: config.json beside the weights, else the checkpoint's shapes, else the --arch preset)",
        """
        Query heads cannot be read off 2024/minimind2/minimind2-hf shapes (minimind3's q_norm gives them):
        without a config.json, give --n-heads when it differs from the preset.
        Weight files this project writes carry their architecture (and tokenizer) inside (extra/minimind.json),
        so they need none of these options; an explicit --arch sends such a file down the steps above instead.
        """,
        new[] { (CliOption)Arch }.Concat(Fields.Select(f => f.Option)).Concat(new CliOption[] { RopeScalingMode, RopeFactor, RopeOriginalMax }).ToArray());

    /// <summary>Parses the architecture for a model that will load <paramref name="weightsPath"/> (or a new one when null).</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath) => Parse(args, weightsPath, out _);

    /// <summary>As <see cref="Parse(ArgParser, string?)"/>; also returns the checkpoint's state dict when one was read.</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath, out StateDict? stateDict) => Parse(args, weightsPath, out stateDict, null);

    /// <summary>
    /// As above; <paramref name="fallback"/> is the new model's base when neither <c>--arch</c> nor a checkpoint says
    /// (default: the minimind3 preset). Only the overrides in the parser's table apply (generate's <c>--top-k</c> is sampling).
    /// </summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath, out StateDict? stateDict, ModelConfig? fallback)
    {
        stateDict = null;
        string? arch = Declares(args, Arch) ? args.Get(Arch) : null;
        var pinned = new HashSet<string>(StringComparer.Ordinal);
        ModelConfig? fromJson = null;
        ArchitectureRecord.Contents? record = null;
        if (weightsPath is not null)
        {
            bool folder = Directory.Exists(weightsPath); // a HuggingFace folder: its own config.json
            if (!folder && !File.Exists(weightsPath)) throw new FileNotFoundException($"--weights '{weightsPath}' does not exist");
            stateDict = StateDict.Read(weightsPath);
            // A file this project wrote describes itself exactly; an explicit --arch asks for the foreign-file path instead.
            record = arch is null ? ArchitectureRecord.Read(stateDict) : null;
            var json = Path.Combine(folder ? weightsPath : Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, "config.json");
            arch ??= CheckpointShapes.DetectArch(stateDict);
            if (record is null && File.Exists(json)) fromJson = ModelConfigJson.Load(json, arch, pinned);
        }
        var c = record?.Config ?? fromJson ?? (arch is null && fallback is { } f ? f : ModelConfig.Preset(arch ?? "minimind3"));
        // command-line overrides are pinned too: the checkpoint must agree with them
        c = Override(args, c, pinned);
        if (stateDict is not null && record is null)
        {
            c = CheckpointShapes.Infer(c, stateDict, pinned);
            c = Override(args, c, pinned);
        }
        try { c.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (stateDict is not null)
        {
            CheckpointShapes.CheckAgainst(c, stateDict, weightsPath!);
            if (CheckpointShapes.TiedCopiesNote(c, stateDict) is { } note) Console.Error.WriteLine("note: " + note);
        }
        return c;
    }

    /// <summary>The tokenizer recorded in a weight file this project wrote (<c>byte</c> or a tokenizer path), or null.</summary>
    public static string? RecordedTokenizer(StateDict? sd) => sd is null ? null : ArchitectureRecord.Read(sd)?.Tokenizer;

    /// <summary>The tokenizer to use for <paramref name="weights"/>: <paramref name="tokSpec"/> when given, else the
    /// tokenizer.json beside the weights (or inside an HF folder), else the one recorded in the file; null when none is known.</summary>
    public static string? TokenizerFor(string? tokSpec, string weights, StateDict? sd)
    {
        if (tokSpec is not null) return tokSpec;
        var beside = Path.Combine(Directory.Exists(weights) ? weights : Path.GetDirectoryName(Path.GetFullPath(weights))!, "tokenizer.json");
        return File.Exists(beside) ? beside : RecordedTokenizer(sd);
    }

    private static bool Declares(ArgParser a, CliOption o) => a.Table is null || a.Table.Contains(o);

    private static ModelConfig Override(ArgParser a, ModelConfig c, HashSet<string> pinned)
    {
        foreach (var f in Fields)
        {
            if (!Declares(a, f.Option) || !a.Has(f.Option)) continue;
            c = f.Apply(a, c);
            if (f.Pinned is not null) pinned.Add(f.Pinned);
        }
        return c with { RopeScaling = OverrideRopeScaling(a, c.RopeScaling) };
    }

    // --rope-scaling none|yarn, then --rope-factor / --rope-original-max on top of the file's scaling or MiniMind's.
    private static RopeScaling? OverrideRopeScaling(ArgParser a, RopeScaling? rs)
    {
        bool Given(CliOption o) => Declares(a, o) && a.Has(o);
        bool values = Given(RopeFactor) || Given(RopeOriginalMax);
        if (Given(RopeScalingMode) && a.Get(RopeScalingMode) == "none")
        {
            if (values) throw new UsageException("--rope-factor/--rope-original-max cannot be combined with --rope-scaling none");
            return null;
        }
        if (!values && !Given(RopeScalingMode)) return rs;
        var r = rs ?? RopeScaling.MiniMind;
        if (Given(RopeFactor)) r = r with { Factor = a.Get(RopeFactor)!.Value };
        if (Given(RopeOriginalMax)) r = r with { OriginalMaxPositions = a.Get(RopeOriginalMax)!.Value };
        return r;
    }

    /// <summary>Formats a config for the start-up line.</summary>
    public static string Describe(ModelConfig c) => CheckpointShapes.Describe(c) +
        string.Create(CultureInfo.InvariantCulture, $" --max-seq-len {c.MaxSeqLen} --rope-theta {c.RopeTheta} --norm-eps {c.NormEps}") +
        (c.TiedEmbeddings ? "" : " --tie-embeddings false") +
        (c.RopeScaling is { } rs ? string.Create(CultureInfo.InvariantCulture, $" --rope-scaling yarn --rope-factor {rs.Factor} --rope-original-max {rs.OriginalMaxPositions}") : "");
}

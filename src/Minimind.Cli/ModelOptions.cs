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
        What no source determines is refused, never guessed: 2024 and minimind2 files share every key name
        (give --arch), and only minimind3's q_norm gives the number of query heads (give --n-heads); the
        refusal names the flags to add. A known generation brings its MiniMind defaults (RoPE θ, eps, top-k).
        Weight files this project writes carry their architecture (and tokenizer) inside (.pth: extra/minimind.json,
        .safetensors: __metadata__, HF folders: config.json), so they need none of these options; an explicit
        --arch sends such a file down the steps above instead.
        """,
        new[] { (CliOption)Arch }.Concat(Fields.Select(f => f.Option)).Concat(new CliOption[] { RopeScalingMode, RopeFactor, RopeOriginalMax }).ToArray());

    /// <summary>Parses the architecture for a model that will load <paramref name="weightsPath"/> (or a new one when null).</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath) => Parse(args, weightsPath, out _);

    /// <summary>As <see cref="Parse(ArgParser, string?)"/>; also returns the checkpoint's state dict (normalised keys) when one was read.</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath, out StateDict? stateDict)
    {
        var source = weightsPath is null ? null : Open(weightsPath);
        stateDict = source?.Weights;
        return Resolve(args, source);
    }

    /// <summary>Opens <c>--weights</c> (a .pth, .safetensors or HuggingFace folder), naming the flag when it does not exist.</summary>
    public static CheckpointSource Open(string weightsPath) =>
        File.Exists(weightsPath) || Directory.Exists(weightsPath) ? CheckpointSource.Open(weightsPath)
            : throw new FileNotFoundException($"--weights '{weightsPath}' does not exist", weightsPath);

    /// <summary>
    /// The architecture of a model that will load <paramref name="source"/> (or a new one when null). A file's
    /// architecture record is believed as is; otherwise config.json, the checkpoint's shapes and the flags are combined,
    /// and what none of them determines (the generation of 2024/minimind2 key names, the query heads of every layout
    /// but minimind3's) is refused with the flags to add, never guessed. <paramref name="fallback"/> is a new model's
    /// base when neither <c>--arch</c> nor a checkpoint says (default: the minimind3 preset). Only the overrides in the
    /// parser's table apply (generate's <c>--top-k</c> is sampling). An <c>--arch</c> whose keys the file does not use is
    /// refused unless <paramref name="loaderNamesKeys"/> (train's --from-weight loader names every key that does not fit).
    /// </summary>
    public static ModelConfig Resolve(ArgParser args, CheckpointSource? source, ModelConfig? fallback = null, bool loaderNamesKeys = false)
    {
        string? arch = Declares(args, Arch) ? args.Get(Arch) : null;
        bool archGiven = arch is not null;
        var pinned = new HashSet<string>(StringComparer.Ordinal);
        ModelConfig? fromJson = null;
        ArchitectureRecord.Contents? record = null;
        IReadOnlyList<string> generations = Array.Empty<string>();
        if (source is not null)
        {
            // A file this project wrote describes itself exactly; an explicit --arch asks for the foreign-file path instead.
            record = arch is null ? ArchitectureRecord.Read(source.Weights) : null;
            generations = CheckpointShapes.Generations(source.Weights);
            if (arch is not null && !loaderNamesKeys && generations.Count > 0 && !generations.Contains(arch))
                throw new UsageException($"--arch {arch} does not fit {source.Path}: its keys (e.g. '{KeyTable.Of(ModelConfig.Preset(generations[0]).Generation)[ParameterRole.Embedding]}') " +
                    $"are {string.Join(" or ", generations)}'s. Give --arch {string.Join("|", generations)}, or leave --arch out");
            if (record is null)
            {
                if (arch is null && generations.Count == 1) arch = generations[0];
                if (source.ConfigJsonPath is { } json) fromJson = ModelConfigJson.Load(json, arch, pinned);
            }
        }
        var c = record?.Config ?? fromJson ?? (arch is null && fallback is { } f ? f : ModelConfig.Preset(arch ?? "minimind3"));
        // command-line overrides are pinned too: the checkpoint must agree with them
        c = Override(args, c, pinned);
        if (source is not null && record is null)
        {
            if (generations.Count > 1 && !archGiven && fromJson is null) throw Undetermined(source, c, generation: true, heads: !pinned.Contains(nameof(ModelConfig.NHeads)));
            c = CheckpointShapes.Infer(c, source.Weights, pinned, out var read);
            c = Override(args, c, pinned);
            // Heads are a guess unless given, in config.json, or read off a q_norm (only when the file uses this layout's keys at all).
            if (read.Count > 0 && !pinned.Contains(nameof(ModelConfig.NHeads)) && !read.Contains(nameof(ModelConfig.NHeads)))
                throw Undetermined(source, c, generation: false, heads: true);
        }
        try { c.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (source is not null) CheckpointShapes.CheckAgainst(c, source.Weights, source.Path);
        return c;
    }

    /// <summary>True when the command line sets any architecture option (so <c>convert</c> writes a record from them).</summary>
    public static bool AnyGiven(ArgParser args) => Architecture.Options.Any(o => Declares(args, o) && args.Has(o));

    // The refusal of a file whose architecture is not known: what is open and the exact flags that close it.
    private static UsageException Undetermined(CheckpointSource source, ModelConfig c, bool generation, bool heads)
    {
        var open = new List<string>();
        var flags = new List<string>();
        if (generation)
        {
            open.Add("the generation (2024 and minimind2 files share every key name)");
            flags.Add("--arch minimind-v1|minimind2");
        }
        // the shapes as the file's own layout reads them (c is still the fallback when the generation is open)
        var gens = CheckpointShapes.Generations(source.Weights);
        if (generation && gens.Count > 0) c = CheckpointShapes.Infer(ModelConfig.Preset(gens[^1]), source.Weights, new HashSet<string>(), out _);
        if (heads)
        {
            var wk = KeyTable.Of(c.Generation)[ParameterRole.Wk];
            string rows = source.Weights.TryGetValue(wk, out var t) && t.Rank == 2 ? $"; '{wk}' holds {t.Shape[0]} rows = kv heads × head size" : "";
            open.Add($"the number of query heads (dim {c.Dim}{rows})");
            flags.Add("--n-heads N");
        }
        string examples = generation
            ? "MiniMind's own: --arch minimind2 --n-heads 8, or --arch minimind-v1 --n-heads 16"
            : $"{c.Arch}'s default: --n-heads {ModelConfig.Preset(c.Arch).NHeads}";
        string where = source.Format == CheckpointFormat.HfFolder ? "no config.json" : "no config.json beside it";
        // A file that does describe itself only gets here because --arch set its record aside: say so, not that it is missing.
        if (ArchitectureRecord.Read(source.Weights) is { } setAside)
            return new UsageException(
                $"{source.Path} carries an architecture record ({setAside.Config.Arch}: {Describe(setAside.Config)}), which --arch sets aside; " +
                $"from --arch, {where} and its keys and shapes alone, {string.Join(" and ", open)} stay open. " +
                $"Drop --arch to load the file as recorded, or add {string.Join(" ", flags)} ({examples})");
        return new UsageException(
            $"{source.Path} does not say which model it is: it has no architecture record (files this program writes carry one) and {where}, " +
            $"and its keys and shapes leave open {string.Join(" and ", open)}. Add {string.Join(" ", flags)} ({examples}), or put the model's config.json beside it");
    }

    /// <summary>The tokenizer recorded in a weight file this project wrote (<c>byte</c> or a tokenizer path), or null.</summary>
    public static string? RecordedTokenizer(CheckpointSource? source) => source is null ? null : ArchitectureRecord.Read(source.Weights)?.Tokenizer;

    /// <summary>The tokenizer to use for <paramref name="source"/>: <paramref name="tokSpec"/> when given, else the
    /// tokenizer.json beside the weights (or inside an HF folder), else the one recorded in the file; null when none is known.</summary>
    public static string? TokenizerFor(string? tokSpec, CheckpointSource source)
    {
        if (tokSpec is not null) return tokSpec;
        var beside = TokenizerBeside(source);
        return File.Exists(beside) ? beside : RecordedTokenizer(source);
    }

    private static string TokenizerBeside(CheckpointSource source) =>
        Path.Combine(Directory.Exists(source.Path) ? source.Path : Path.GetDirectoryName(Path.GetFullPath(source.Path))!, "tokenizer.json");

    // Where the tokenizer TokenizerFor chose for the source came from, for messages: the flag, the tokenizer.json beside
    // the weights, or the file's record.
    private static string TokenizerOrigin(string? tokSpec, string resolved, CheckpointSource source) =>
        tokSpec is not null ? $"--tokenizer {tokSpec}"
        : resolved == TokenizerBeside(source) ? $"{resolved} (the tokenizer.json beside the weights)"
            : $"the tokenizer {source.Path} records ({resolved})";

    /// <summary>
    /// Refuses a tokenizer with more ids than the model's vocabulary: its ids past the vocabulary have no embedding row,
    /// so a prompt holding one would read past the table. <paramref name="tokenizer"/> and <paramref name="model"/> say
    /// where each size came from (a flag or a file). The one check of train, eval, generate, chat, serve and convert.
    /// </summary>
    public static void CheckTokenizerFits(int tokenizerIds, string tokenizer, int vocabSize, string model)
    {
        if (tokenizerIds > vocabSize)
            throw new UsageException($"{tokenizer} has {tokenizerIds} ids, but the model's vocabulary has {vocabSize} ({model}): ids {vocabSize} and up " +
                "have no embedding row. Use the tokenizer the model was built with, or a model with a vocabulary that large");
    }

    /// <summary>
    /// <see cref="CheckTokenizerFits(int, string, int, string)"/> for the tokenizer that <see cref="TokenizerFor"/> resolved
    /// to <paramref name="resolved"/> from <paramref name="tokSpec"/> (the flag, or null) for <paramref name="source"/>,
    /// against <paramref name="config"/>, the model that loads <paramref name="source"/>; the message names where each came from.
    /// </summary>
    public static void CheckTokenizerFits(int tokenizerIds, string? tokSpec, string resolved, CheckpointSource source, ModelConfig config) =>
        CheckTokenizerFits(tokenizerIds, TokenizerOrigin(tokSpec, resolved, source), config.VocabSize, $"the embedding of {source.Path}");

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

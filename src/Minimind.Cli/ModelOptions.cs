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
    /// <summary>The options text for a command's --help.</summary>
    public const string HelpText = """
        Model architecture (defaults: config.json beside --weights, else shapes read from the checkpoint,
        else the preset):
          --arch NAME            minimind-v1 (2024 Transformer), minimind2 (MiniMindLM), minimind2-hf
                                 (MiniMindForCausalLM), minimind3 (HEAD, q/k norm). Default: detected from the
                                 checkpoint keys (2024 and minimind2 files share keys: minimind2 is assumed),
                                 else minimind3 for a new model
          --dim N                hidden size              --n-layers N        transformer blocks
          --n-heads N            query heads              --n-kv-heads N      key/value heads (GQA)
          --vocab-size N         vocabulary size          --hidden-dim N      FFN width (default: formula)
          --max-seq-len N        context / RoPE length    --rope-theta X      RoPE base
          --norm-eps X           RMSNorm epsilon
          --use-moe [true|false] mixture of experts       --n-experts N       routed experts
          --top-k N              experts per token        --n-shared-experts N  always-on experts
          --aux-alpha X          MoE load-balancing loss weight
          --tie-embeddings true|false  output head shares the embedding (default true, as every MiniMind
                                 generation; a file whose two copies differ is reported)
        Weight files written by this project carry their architecture (and tokenizer) inside, so they need
        none of these options; --arch makes such a file go through the steps below instead.
        Query heads cannot be read off 2024/minimind2/minimind2-hf shapes (minimind3's q_norm gives them):
        without a config.json, give --n-heads when it differs from the preset.
        """;

    /// <summary>Parses the architecture for a model that will load <paramref name="weightsPath"/> (or a new one when null).</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath) => Parse(args, weightsPath, out _);

    /// <summary>As <see cref="Parse(ArgParser, string?)"/>; also returns the checkpoint's state dict when one was read.</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath, out StateDict? stateDict) => Parse(args, weightsPath, out stateDict, true);

    /// <summary>As above; with <paramref name="moeTopK"/> false, <c>--top-k</c> is left to the command
    /// (generate uses it for sampling) and the MoE top-k comes from config.json or the preset.</summary>
    public static ModelConfig Parse(ArgParser args, string? weightsPath, out StateDict? stateDict, bool moeTopK)
    {
        stateDict = null;
        string? arch = args.String("arch");
        if (arch is not null && !ModelConfig.PresetNames.Contains(arch))
            throw new UsageException($"--arch '{arch}' is not one of: {string.Join(", ", ModelConfig.PresetNames)}");
        var pinned = new HashSet<string>(StringComparer.Ordinal);
        ModelConfig? fromJson = null;
        ArchitectureRecord.Contents? record = null;
        if (weightsPath is not null)
        {
            if (!File.Exists(weightsPath)) throw new FileNotFoundException($"--weights '{weightsPath}' does not exist");
            stateDict = StateDict.Read(weightsPath);
            // A file this project wrote describes itself exactly; an explicit --arch asks for the foreign-file path instead.
            record = arch is null ? ArchitectureRecord.Read(stateDict) : null;
            var json = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weightsPath))!, "config.json");
            arch ??= CheckpointShapes.DetectArch(stateDict);
            if (record is null && File.Exists(json)) fromJson = ModelConfigJson.Load(json, arch, pinned);
        }
        var c = record?.Config ?? fromJson ?? ModelConfig.Preset(arch ?? "minimind3");
        // command-line overrides are pinned too: the checkpoint must agree with them
        c = Override(args, c, pinned, moeTopK);
        if (stateDict is not null && record is null)
        {
            c = CheckpointShapes.Infer(c, stateDict, pinned);
            c = Override(args, c, pinned, moeTopK);
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

    private static ModelConfig Override(ArgParser a, ModelConfig c, HashSet<string> pinned, bool moeTopK)
    {
        int? I(string flag, string prop) { var v = a.IntOrNull(flag); if (v is not null) pinned.Add(prop); return v; }
        float? F(string flag)
        {
            var v = a.DoubleOrNull(flag);
            return v is null ? null : (float)v.Value;
        }
        c = c with
        {
            Dim = I("dim", nameof(ModelConfig.Dim)) ?? c.Dim,
            NLayers = I("n-layers", nameof(ModelConfig.NLayers)) ?? c.NLayers,
            NHeads = I("n-heads", nameof(ModelConfig.NHeads)) ?? c.NHeads,
            NKvHeads = I("n-kv-heads", nameof(ModelConfig.NKvHeads)) ?? c.NKvHeads,
            VocabSize = I("vocab-size", nameof(ModelConfig.VocabSize)) ?? c.VocabSize,
            HiddenDim = I("hidden-dim", nameof(ModelConfig.HiddenDim)) ?? c.HiddenDim,
            MaxSeqLen = a.IntOrNull("max-seq-len") ?? c.MaxSeqLen,
            RopeTheta = F("rope-theta") ?? c.RopeTheta,
            NormEps = F("norm-eps") ?? c.NormEps,
            NExperts = I("n-experts", nameof(ModelConfig.NExperts)) ?? c.NExperts,
            TopK = (moeTopK ? a.IntOrNull("top-k") : null) ?? c.TopK,
            NSharedExperts = I("n-shared-experts", nameof(ModelConfig.NSharedExperts)) ?? c.NSharedExperts,
            AuxAlpha = F("aux-alpha") ?? c.AuxAlpha,
        };
        if (a.Has("use-moe")) { c = c with { UseMoe = a.Flag("use-moe") }; pinned.Add(nameof(ModelConfig.UseMoe)); }
        if (a.Has("tie-embeddings")) { c = c with { TiedEmbeddings = a.Flag("tie-embeddings") }; pinned.Add(nameof(ModelConfig.TiedEmbeddings)); }
        return c;
    }

    /// <summary>Formats a config for the start-up line.</summary>
    public static string Describe(ModelConfig c) => CheckpointShapes.Describe(c) +
        string.Create(CultureInfo.InvariantCulture, $" --max-seq-len {c.MaxSeqLen} --rope-theta {c.RopeTheta} --norm-eps {c.NormEps}") +
        (c.TiedEmbeddings ? "" : " --tie-embeddings false");
}

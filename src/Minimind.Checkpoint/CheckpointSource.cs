namespace Minimind.Checkpoint;

/// <summary>
/// One weight file (or HuggingFace folder) opened for loading: read once, its format told by content, its keys
/// normalised once (torch.compile/DDP prefixes stripped), its records (the architecture record of a .pth's
/// <c>extra/</c> folder or a safetensors <c>__metadata__</c>) and the <c>config.json</c> that describes it found.
/// Everything downstream — architecture resolution, shape inference, the strict load — works on this one object,
/// so a command parses a file once however many parts of it need the weights. Tensor bytes stay in the file
/// until a tensor is materialised.
/// </summary>
public sealed class CheckpointSource
{
    private CheckpointSource(string path, CheckpointFormat format, StateDict weights, string? configJson, PthFile? pth)
    {
        Path = path; Format = format; Weights = weights; ConfigJsonPath = configJson; Pth = pth;
    }

    /// <summary>The path as given.</summary>
    public string Path { get; }
    /// <summary>The container.</summary>
    public CheckpointFormat Format { get; }
    /// <summary>The state dict under normalised keys, with the file's records in <see cref="StateDict.Extras"/>.</summary>
    public StateDict Weights { get; }
    /// <summary>The <c>config.json</c> describing the weights (inside a HuggingFace folder, or beside a file), or null.</summary>
    public string? ConfigJsonPath { get; }

    /// <summary>The parsed .pth (its whole object tree, e.g. a resume dict's optimizer state) when the format is <see cref="CheckpointFormat.Pth"/>.</summary>
    public PthFile? Pth { get; }

    /// <summary>Notes already said about this file (a file loaded into two models, as DPO's policy and reference, is described once).</summary>
    public ISet<string> NotesSaid { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>A record of the file by name (e.g. the architecture record), or null.</summary>
    public byte[]? Record(string name) => Weights.Extras.TryGetValue(name, out var b) ? b : null;

    /// <summary>Opens <paramref name="path"/>: a .pth (zip or legacy; a resume dict's 'model'), a .safetensors file or a
    /// HuggingFace folder. A GGUF file is refused saying what it is and what to give instead.</summary>
    public static CheckpointSource Open(string path)
    {
        var format = CheckpointFormats.Detect(path);
        var pth = format == CheckpointFormat.Pth ? PthReader.Read(path) : null;
        var weights = (pth is not null ? StateDict.FromPth(pth) : StateDict.Read(path, format)).WithNormalizedKeys();
        return new CheckpointSource(path, format, weights, ConfigJsonFor(path), pth);
    }

    /// <summary>The config.json that describes <paramref name="path"/>: inside a folder, else beside the file; null when there is none.</summary>
    public static string? ConfigJsonFor(string path)
    {
        string dir = Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var json = System.IO.Path.Combine(dir, "config.json");
        return File.Exists(json) ? json : null;
    }

    /// <summary>A source over a state dict already in memory (a merged LoRA, tests), described by <paramref name="configJson"/> if given.</summary>
    public static CheckpointSource FromStateDict(StateDict sd, string name, CheckpointFormat format = CheckpointFormat.Pth, string? configJson = null) =>
        new(name, format, sd.WithNormalizedKeys(), configJson, null);
}
